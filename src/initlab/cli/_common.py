"""What the lab commands share: --seeds/--out/--force, the study's options checked before --out
is made (and errors named by the option), running a study with a progress bar, its tables,
claims, figures and result.json."""
from __future__ import annotations

import argparse
import importlib
import inspect
import json
from pathlib import Path

from .. import atomic
from ..errors import InitlabError
from ..experiments import to_jsonable
from . import ui
from ._options import MAX_DEPTH, MAX_SEEDS, UseSeeds, check_at_most, option_name, seeds_arg, split_ints, split_list
from ._paths import output_folder, remove_stale_outputs


def chosen_seeds(args, tiny: dict) -> tuple[int, ...]:
    """--seeds when given; else the tiny preset's seeds with --tiny; else the command's default."""
    if args.seeds is not None:
        return args.seeds
    if getattr(args, "tiny", False) and "seeds" in tiny:
        return tuple(tiny["seeds"])
    return args.default_seeds


def study_preset(args, study, *, lists=(), given=()) -> dict:
    """A lab command's keywords: the study's TINY preset with --tiny, the seeds
    (`chosen_seeds`), --depths (comma-separated, each at most MAX_DEPTH) where the command has
    that option and it was given, then the comma-separated options `lists` (`listed_options`)
    and the plain options `given` (`given_options`) that were given."""
    kwargs = dict(study.TINY) if args.tiny else {}
    kwargs["seeds"] = chosen_seeds(args, study.TINY)
    if getattr(args, "depths", None) is not None:
        kwargs["depths"] = tuple(check_at_most(d, MAX_DEPTH, "--depths") for d in split_ints(args.depths, "--depths"))
    kwargs.update(listed_options(args, lists))
    kwargs.update(given_options(args, given))
    return kwargs


def given_options(args, keys) -> dict:
    """{key: value} for the options among `keys` given on the command line (not None); the
    study's check_options validates them."""
    return {key: getattr(args, key) for key in keys if getattr(args, key) is not None}


def listed_options(args, keys) -> dict:
    """{key: tuple of items} for the comma-separated options among `keys` that were given
    (`--inits he,glorot` -> ("he", "glorot"))."""
    return {key: tuple(split_list(getattr(args, key), f"--{key}")) for key in keys if getattr(args, key) is not None}


def check_study_options(study, kwargs: dict, options: dict | None = None):
    """Call study.check_options with the keywords of kwargs it takes, so that every bad value
    (a negative n_train, a batch larger than the data, ...) fails before --out is created.

    `options` ({keyword: option as typed, e.g. "--batch-size"}: those the user gave) names the
    error's option: the study's checks keep the keyword they blame as `exc.param` and what was
    expected and given as `exc.detail` (see `initlab.constraints`)."""
    accepted = inspect.signature(study.check_options).parameters
    kwargs = {k: v for k, v in kwargs.items() if k in accepted}
    try:
        return study.check_options(**kwargs)
    except InitlabError as exc:
        option = (options or {}).get(exc.param)
        if option is None:
            raise
        raise type(exc)(f"{option}: {exc.detail}") from None


def add_common(parser, *, default_out, default_seeds="2"):
    parser.add_argument("--seeds", type=seeds_arg, default=None,
                        help=f"a count (3 = seeds 0,1,2), a list (0,5,9) or one seed (5,); default "
                             f"{default_seeds} (with --tiny, the tiny preset's); at most {MAX_SEEDS}")
    parser.add_argument("--seed", nargs="?", action=UseSeeds, help=argparse.SUPPRESS)
    parser.set_defaults(default_seeds=seeds_arg(default_seeds))
    parser.add_argument("--out", default=default_out,
                        help=f"output folder (default {default_out}); run again with the same options, it "
                             "reuses the tasks already finished there and runs only the missing ones")
    parser.add_argument("--force", action="store_true", help="write into an existing output folder")
    add_grid_options(parser)


def study_parser(sub, name: str, help: str, doc: str, *, default_seeds: str):
    """A lab command's parser: its name, one-line help and docstring, and the common options
    (`add_common`) with its output folder `initlab-<name>`."""
    parser = sub.add_parser(name, help=help, description=doc)
    add_common(parser, default_out=f"initlab-{name}", default_seeds=default_seeds)
    return parser


def add_size_options(parser, **helps):
    """Integer options left None unless given (the study's own default then), one a keyword:
    `sweep_seeds="..."` adds --sweep-seeds with that help; the study checks their values."""
    for dest, text in helps.items():
        parser.add_argument(f"--{dest.replace('_', '-')}", dest=dest, type=int, default=None, help=text)


def finish_parser(parser, func, sizes: str):
    """A lab command's last option, --tiny, and what the command runs (`sizes`: the options that
    make it smaller, named when it runs out of memory); the parser back."""
    parser.add_argument("--tiny", action="store_true", help="test-sized settings (seconds)")
    parser.set_defaults(func=func, sizes=sizes)
    return parser


def add_grid_options(parser):
    """--jobs, --backend, --scheduler: where the study's tasks run."""
    parser.add_argument("--jobs", type=int, default=None, metavar="N",
                        help="worker processes for the study's tasks, 1 to 256 (default: every core; each "
                             "worker uses one BLAS thread); results are the same bits for any N")
    parser.add_argument("--backend", default="local", choices=("local", "dask"),
                        help="local processes (default) or a Dask cluster (needs --scheduler and the dask extra)")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="the Dask scheduler's address, e.g. tcp://HOST:8786 (with --backend dask)")


def executor(args):
    """The lab's Executor for --backend/--scheduler/--jobs, checked before any work."""
    from ..lab.runner import Executor
    return Executor(args.backend, args.scheduler, args.jobs)


def write_json(path: Path, data) -> Path:
    """Write data as indented JSON (NumPy values made plain first), atomically."""
    return atomic.write_text(path, json.dumps(to_jsonable(data), indent=2))


def save_study_files(module_name: str, result: dict, out: Path, lang: str = "en") -> list[Path]:
    """Draw a study's figures (its plots module's FIGURES as PNG, ANIMATIONS as GIF) into out,
    their titles, axes and legends in `lang` (en, or ja where the `ja` extra's font is installed)."""
    from ..plots import save   # matplotlib only when there is something to draw
    figures = importlib.import_module(f"initlab.plots.{module_name}")
    paths = [save(make(result, lang), Path(out) / f"{name}.png") for name, make in figures.FIGURES.items()]
    for name, write in getattr(figures, "ANIMATIONS", {}).items():
        written = write(result, Path(out) / f"{name}.gif", lang=lang)
        if written:
            paths.append(Path(written))
        else:
            ui.err_console.print(f"initlab: {name}.gif not written: Pillow (for matplotlib's PillowWriter) "
                                 "is not installed")
    return paths


def run_study(label: str, module_name: str, kwargs: dict, out: Path, print_tables, running=None):
    """Run a study's grid with a progress bar (finished tasks stored under out), print its
    tables and claims, write its figures, result.json and timing.json into out; returns
    (result, paths written)."""
    from ..lab.study import run_study as run_grid, timings, without_timing
    study = importlib.import_module(f"initlab.experiments.{module_name}")
    result = run_with_progress(label, lambda progress: run_grid(study, kwargs, executor=running, out=out,
                                                                progress=progress))
    print_tables(result)
    print_claims(result)
    paths = save_study_files(module_name, result, out)
    paths.append(write_json(Path(out) / "result.json", without_timing(result)))
    paths.append(write_json(Path(out) / "timing.json", timings(result)))
    return result, paths


def given_flags(args, kwargs: dict, renamed: dict | None = None) -> dict:
    """{keyword: option} for the keywords in kwargs whose option the user gave (its dest is
    the keyword, or renamed[keyword]); what check_study_options may blame."""
    renamed = renamed or {}
    return {key: option_name(renamed.get(key, key)) for key in kwargs
            if getattr(args, renamed.get(key, key), None) is not None}


def study_command(args, label: str, module_name: str, kwargs: dict, print_tables, renamed=None) -> int:
    """A study subcommand's whole run: check the options and the runner (before --out is
    created), prepare --out (a folder holding this study's finished tasks is reused), run the
    study's grid and write its files, say what was written; returns the exit status.
    `renamed`: {study keyword: argparse dest} where they differ (see given_flags)."""
    study = importlib.import_module(f"initlab.experiments.{module_name}")
    check_study_options(study, kwargs, given_flags(args, kwargs, renamed))
    with executor(args) as running, output_folder(args.out, args.force, resumes=[study.NAME]) as out:
        if args.force:
            remove_stale_outputs(out)
        result, paths = run_study(label, module_name, kwargs, out, print_tables, running)
    report_written(paths, out, result["timing"])
    return 0


def report_written(paths, out, timing):
    reused = f", {timing['reused']} of {timing['tasks']} tasks reused" if timing.get("reused") else ""
    ui.console.print(f"wrote {len(paths)} files to {out} ({timing['seconds']:.0f} s{reused})")


def print_claims(result: dict):
    rows = [claim_row(c) for c in result.get("claims", [])]
    if rows:
        ui.print_table("claims, decided over seeds", ["verdict", "claim", "seeds", "effect [95% interval]", "p", "why"],
                       rows)


def claim_row(c: dict) -> tuple:
    """A claim record as a table row: verdict, sentence, k/n, effect [interval], p, why."""
    effect = "" if c.get("effect") is None else ui.number(c["effect"])
    if effect and c.get("lower_bound"):
        effect = ">= " + effect
    if effect and c.get("interval"):
        effect += " [" + ", ".join(ui.number(v) for v in c["interval"]) + "]"
    if effect and c.get("effect_name"):
        effect = f"{c['effect_name']}: {effect}"
    p = "" if c.get("p") is None else ui.number(c["p"])
    return (c["verdict"], c["claim"], f"{c['k']}/{c['n']}", effect, p, c.get("why", ""))


def run_with_progress(label, fn):
    """fn(progress) with a rich progress bar fed by its progress(done, total, status) callback."""
    with ui.progress() as bar:
        task = bar.add_task(label, total=None, status="")

        def progress(done, total, status=""):
            bar.update(task, completed=done, total=total, status=status)

        return fn(progress)
