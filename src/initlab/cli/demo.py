"""`initlab demo`: every study at small scale, one self-contained HTML report.

Writes OUT/index.html (figures embedded), every figure as PNG, and every number in
OUT/results.json. The studies run in the order a learner asks the questions.
"""
from __future__ import annotations

import importlib
import time
from pathlib import Path

from ..errors import UnknownNameError
from ..experiments import to_jsonable
from ..report import LANGS, write_report
from . import ui
from ._common import save_study_files, write_json
from ._options import split_list
from ._paths import output_folder

ORDER = 90

# (report section id, module name under experiments/ and plots/)
STUDIES = [
    ("conv", "conv"), ("symmetry", "symmetry"), ("zero_mean", "zero_mean"), ("propagate", "propagate"),
    ("depth", "depth"), ("filters", "filters"), ("prefilters", "prefilters"), ("cv", "cv"),
]


def _scalars(result: dict) -> dict:
    return {k: v for k, v in to_jsonable(result).items() if isinstance(v, (int, float, str)) and k != "claims"}


def run_study(section, module_name, out: Path, preset: str, progress=None) -> dict:
    """Run one study at a preset ("DEMO" or "TINY"), save its figures; return the report section."""
    study = importlib.import_module(f"initlab.experiments.{module_name}")
    result = study.run(**getattr(study, preset), progress=progress)
    paths = save_study_files(module_name, result, out)
    return {"id": section, "figures": paths, "claims": result.get("claims", []),
            "numbers": _scalars(result), "result": result}


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
    with output_folder(args.out, args.force) as out:
        return _run(args, chosen, out)


def _run(args, chosen, out) -> int:
    preset = "TINY" if args.tiny else "DEMO"
    start = time.perf_counter()
    sections = []
    with ui.progress() as bar:
        overall = bar.add_task("demo", total=len(chosen), status="")
        for section, module in STUDIES:
            if section not in chosen:
                continue
            task = bar.add_task(f"  {section}", total=None, status="")

            def progress(done, total, status="", task=task):
                bar.update(task, completed=done, total=total, status=status)

            sections.append(run_study(section, module, out, preset, progress))
            bar.update(task, status="done")
            bar.advance(overall)
    seconds = time.perf_counter() - start
    write_json(out / "results.json", {s["id"]: s["result"] for s in sections} | {"seconds": seconds})
    page = write_report(out / "index.html", sections, lang=args.lang, seconds=seconds)
    rows = []
    for s in sections:
        counted = [c for c in s["claims"] if c.get("evidence", True)]
        held = sum(c["holds"] for c in counted)
        rows.append((s["id"], f"{held}/{len(counted)}", len(s["figures"])))
    ui.print_table("initlab demo", ["study", "claims held", "figures"], rows)
    ui.console.print(f"report: {page} ({seconds:.0f} s)")
    return 0


def register(sub):
    p = sub.add_parser("demo", help="run every study at small scale and write one HTML report",
                       description=__doc__)
    p.add_argument("--out", default="initlab-report", help="output folder (default initlab-report)")
    p.add_argument("--force", action="store_true", help="write into an existing output folder")
    p.add_argument("--lang", default="en", help="language of the report's prose and claims (figures stay in English): en or ja")
    p.add_argument("--only", default=None, help="comma-separated studies to run, e.g. symmetry,zero-mean (default: all)")
    p.add_argument("--tiny", action="store_true", help="test-sized settings (seconds, not minutes)")
    p.set_defaults(func=demo, sizes="--tiny, or fewer studies with --only")
