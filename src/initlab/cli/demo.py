"""`initlab demo`: every study at small scale, one self-contained HTML report.

Writes OUT/index.html (figures embedded), every figure as PNG, every number in OUT/results.json
(the same bits for the same seeds, whatever ran the tasks), the wall-clock times in
OUT/timing.json, and each finished task under OUT/tasks/ (run the same command again after an
interruption and it runs only the missing tasks). The studies run in the order a learner asks
the questions; each study's tasks run in parallel (--jobs, or a Dask cluster).
"""
from __future__ import annotations

import importlib
import time
from pathlib import Path

from ..errors import UnknownNameError
from ..experiments import to_jsonable
from ..lab.study import run_study as run_grid, timings, without_timing
from ..report import LANGS, japanese_font_file, write_report
from . import ui
from ._common import add_grid_options, executor, save_study_files, write_json
from ._options import split_list
from ._paths import output_folder, remove_stale_outputs

ORDER = 90

# (report section id, module name under experiments/ and plots/)
STUDIES = [
    ("conv", "conv"), ("symmetry", "symmetry"), ("zero_mean", "zero_mean"), ("propagate", "propagate"),
    ("depth", "depth"), ("optimizers", "optimizers"), ("phase", "phase"), ("filters", "filters"),
    ("prefilters", "prefilters"), ("pretrain", "pretrain"), ("cv", "cv"),
]


def _scalars(result: dict) -> dict:
    return {k: v for k, v in to_jsonable(result).items() if isinstance(v, (int, float, str)) and k != "claims"}


def run_study(section, module_name, out: Path, preset: str, progress=None, running=None, lang="en") -> dict:
    """Run one study at a preset ("DEMO" or "TINY") on the executor `running` (its tasks stored
    under out), save its figures (drawn in `lang`); return the report section."""
    study = importlib.import_module(f"initlab.experiments.{module_name}")
    if hasattr(study, "tasks"):          # a grid of tasks (every study but those not yet moved onto the lab)
        result = run_grid(study, getattr(study, preset), executor=running, out=out, progress=progress)
    else:
        result = study.run(**getattr(study, preset), progress=progress)
    paths = save_study_files(module_name, result, out, lang)
    return {"id": section, "figures": paths, "claims": result.get("claims", []),
            "numbers": _scalars(without_timing(result)), "result": result}


def chosen_studies(only) -> list[str]:
    """The studies --only names (the command's name, zero-mean, or the study's, zero_mean), in
    the report's order; all of them when --only is not given. A study named twice runs once."""
    names = [s for s, _ in STUDIES]
    if only is None:
        return names
    given = split_list(only, "--only", unique=False)
    for name in given:
        if name.replace("-", "_") not in names:
            raise UnknownNameError(f"--only: unknown study {name!r} (valid: {', '.join(names)})")
    return [n for n in names if n in {name.replace("-", "_") for name in given}]


def demo(args) -> int:
    chosen = chosen_studies(args.only)
    if args.lang not in LANGS:
        raise UnknownNameError(f"--lang: unknown language {args.lang!r} (valid: {', '.join(LANGS)})")
    if args.lang == "ja" and japanese_font_file() is None:
        ui.err_console.print("initlab: the Japanese report embeds a font from the 'ja' extra: pip install "
                             "'initlab[ja]' (without it, the figures stay in English and the page's Japanese "
                             "shows only where the system has a CJK font)")
    with executor(args) as running, output_folder(args.out, args.force, resumes=chosen,
                                                               allowed=[s for s, _ in STUDIES]) as out:
        if args.force:
            remove_stale_outputs(out)
        return _run(args, chosen, out, running)


def _run(args, chosen, out, running) -> int:
    preset = "TINY" if args.tiny else "DEMO"
    start = time.perf_counter()
    sections = []
    lines = not ui.err_console.is_terminal      # no live bar: one line per study instead
    with ui.progress() as bar:
        overall = bar.add_task("demo", total=len(chosen), status="")
        for section, module in STUDIES:
            if section not in chosen:
                continue
            task = bar.add_task(f"  {section}", total=None, status="")

            def progress(done, total, status="", task=task):
                bar.update(task, completed=done, total=total, status=status)

            began = time.perf_counter()
            sections.append(run_study(section, module, out, preset, progress, running, args.lang))
            bar.update(task, status="done")
            bar.advance(overall)
            if lines:
                counted = [c for c in sections[-1]["claims"] if c.get("evidence", True)]
                ui.err_console.print(f"initlab demo: {section} done in {time.perf_counter() - began:.0f} s "
                                     f"({sum(c['holds'] for c in counted)}/{len(counted)} claims hold)")
    seconds = time.perf_counter() - start
    results = {s["id"]: s["result"] for s in sections}
    write_json(out / "results.json", without_timing(results))
    write_json(out / "timing.json", timings(results) | {"demo seconds": seconds})
    page = write_report(out / "index.html", sections, lang=args.lang, seconds=seconds)
    rows = []
    for s in sections:
        verdicts = [c.get("verdict") or ("holds" if c["holds"] else "fails") for c in s["claims"]]
        rows.append((s["id"], *(verdicts.count(v) for v in ("holds", "fails", "inconclusive", "illustration")),
                     len(s["figures"])))
    ui.print_table("initlab demo: claims decided over seeds",
                   ["study", "hold", "fail", "inconclusive", "illustrations", "figures"], rows)
    ui.console.print(f"report: {page} ({seconds:.0f} s)")
    return 0


def register(sub):
    p = sub.add_parser("demo", help="run every study at small scale and write one HTML report",
                       description=__doc__)
    p.add_argument("--out", default="initlab-report", help="output folder (default initlab-report)")
    p.add_argument("--force", action="store_true", help="write into an existing output folder")
    p.add_argument("--lang", default="en", help="language of the report and its figures: en or ja (ja needs the "
                   "'ja' extra's font, pip install 'initlab[ja]': the page embeds it and the figures draw with it; "
                   "without it the figures stay in English)")
    p.add_argument("--only", default=None, help="comma-separated studies to run, e.g. symmetry,zero-mean (default: all)")
    p.add_argument("--tiny", action="store_true", help="test-sized settings (seconds, not minutes)")
    add_grid_options(p)
    p.set_defaults(func=demo, sizes="--tiny, or fewer studies with --only")
