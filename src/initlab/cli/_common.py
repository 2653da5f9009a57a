"""What every lab command shares: --seeds/--out/--force options, the output folder, saving."""
from __future__ import annotations

import argparse
import importlib
import inspect
import json
from pathlib import Path

from .. import atomic
from ..errors import InvalidValueError
from ..experiments import to_jsonable
from . import ui


_OPEN, _CLOSE = "([{", ")]}"


def split_list(text: str, option: str) -> list[str]:
    """Split a comma-separated option value on the commas outside (), [], {} and quotes:
    "he_normal, truncated_normal(std=1, a=-2, b=2)" -> ["he_normal", "truncated_normal(std=1, a=-2, b=2)"].

    Items are stripped; an empty item or an unbalanced bracket or quote is an InvalidValueError
    naming `option` (e.g. "--inits")."""
    items, depth, quote, current = [], 0, None, []
    for char in str(text):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth -= 1
            if depth < 0:
                raise InvalidValueError(f"{option}: unbalanced {char!r} in {text!r}")
        elif char == "," and depth == 0:
            items.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    if depth or quote:
        raise InvalidValueError(f"{option}: unclosed bracket or quote in {text!r}")
    items.append("".join(current).strip())
    if not all(items):
        raise InvalidValueError(f"{option}: expected a comma-separated list without empty items, got {text!r}")
    return items


def split_ints(text: str, option: str) -> tuple[int, ...]:
    """'10,20, 30' -> (10, 20, 30); anything that is not an integer is an error naming `option`."""
    items = split_list(text, option)
    try:
        return tuple(int(item) for item in items)
    except ValueError:
        raise InvalidValueError(f"{option}: expected comma-separated integers, got {text!r}") from None


def seeds_arg(text: str) -> tuple[int, ...]:
    """'3' -> (0, 1, 2); '0,5,9' -> (0, 5, 9); '5,' -> (5,), one seed. An argparse type: a bad
    value is an ArgumentTypeError, the only kind whose message argparse shows."""
    try:
        if "," in text:
            seeds = split_ints(text.strip().removesuffix(","), "--seeds")
        else:
            seeds = tuple(range(int(text)))
    except (ValueError, InvalidValueError):
        raise argparse.ArgumentTypeError(f"expected a count (3), a list (0,5,9) or one seed (5,), got {text!r}") from None
    if not seeds or min(seeds) < 0:
        raise argparse.ArgumentTypeError(f"expected a count >= 1 or a list of seeds >= 0, got {text!r}")
    if len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"a seed is repeated in {text!r}: each seed is one run")
    return seeds


def chosen_seeds(args, tiny: dict) -> tuple[int, ...]:
    """--seeds when given; else the tiny preset's seeds with --tiny; else the command's default."""
    if args.seeds is not None:
        return args.seeds
    if getattr(args, "tiny", False) and "seeds" in tiny:
        return tuple(tiny["seeds"])
    return args.default_seeds


def study_preset(args, study) -> dict:
    """A lab command's keywords before its own options: the study's TINY preset with --tiny,
    and the seeds (`chosen_seeds`)."""
    kwargs = dict(study.TINY) if args.tiny else {}
    kwargs["seeds"] = chosen_seeds(args, study.TINY)
    return kwargs


def given_options(args, keys) -> dict:
    """{key: value} for the options among `keys` given on the command line (not None); the
    study's check_options validates them."""
    return {key: getattr(args, key) for key in keys if getattr(args, key) is not None}


def check_study_options(study, kwargs: dict):
    """Call study.check_options with the keywords of kwargs it takes, so that every bad value
    (a negative n_train, a batch larger than the data, ...) fails before --out is created."""
    accepted = inspect.signature(study.check_options).parameters
    return study.check_options(**{k: v for k, v in kwargs.items() if k in accepted})


def add_common(parser, *, default_out, default_seeds="2"):
    parser.add_argument("--seeds", type=seeds_arg, default=None,
                        help=f"a count (3 = seeds 0,1,2), a list (0,5,9) or one seed (5,); default "
                             f"{default_seeds} (with --tiny, the tiny preset's)")
    parser.set_defaults(default_seeds=seeds_arg(default_seeds))
    parser.add_argument("--out", type=Path, default=Path(default_out), help=f"output folder (default {default_out})")
    parser.add_argument("--force", action="store_true", help="write into an existing output folder")


def prepare_out(out: Path, force: bool) -> Path:
    """Create the output folder; refuse an existing non-empty one unless force."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InvalidValueError(f"--out: {out} exists and is not a folder")
    if out.exists() and any(out.iterdir()) and not force:
        raise InvalidValueError(f"--out: folder {out} already exists and is not empty; pass --force to overwrite")
    out.mkdir(parents=True, exist_ok=True)
    return out


def write_json(path: Path, data) -> Path:
    """Write data as indented JSON (NumPy values made plain first), atomically."""
    return atomic.write_text(path, json.dumps(to_jsonable(data), indent=2))


def save_study_files(module_name: str, result: dict, out: Path) -> list[Path]:
    """Draw a study's figures (its plots module's FIGURES as PNG, ANIMATIONS as GIF) into out."""
    from ..plots import save   # matplotlib only when there is something to draw
    figures = importlib.import_module(f"initlab.plots.{module_name}")
    paths = [save(make(result), Path(out) / f"{name}.png") for name, make in figures.FIGURES.items()]
    for name, write in getattr(figures, "ANIMATIONS", {}).items():
        written = write(result, Path(out) / f"{name}.gif")
        if written:
            paths.append(Path(written))
        else:
            ui.err_console.print(f"initlab: {name}.gif not written: Pillow (for matplotlib's PillowWriter) "
                                 "is not installed")
    return paths


def run_study(label: str, module_name: str, kwargs: dict, out: Path, print_tables) -> tuple[dict, list[Path]]:
    """Run a study with a progress bar, print its tables and claims, write its figures and
    result.json into out; returns (result, paths written)."""
    study = importlib.import_module(f"initlab.experiments.{module_name}")
    result = run_with_progress(label, study.run, **kwargs)
    print_tables(result)
    print_claims(result)
    paths = save_study_files(module_name, result, out)
    paths.append(write_json(Path(out) / "result.json", result))
    return result, paths


def study_command(args, label: str, module_name: str, kwargs: dict, print_tables) -> int:
    """A study subcommand's whole run: check the options (before --out is created), prepare
    --out, run the study and write its files, say what was written; returns the exit status."""
    check_study_options(importlib.import_module(f"initlab.experiments.{module_name}"), kwargs)
    out = prepare_out(args.out, args.force)
    result, paths = run_study(label, module_name, kwargs, out, print_tables)
    report_written(paths, out, result["seconds"])
    return 0


def report_written(paths, out, seconds):
    ui.console.print(f"wrote {len(paths)} files to {out} ({seconds:.0f} s)")


def print_claims(result: dict):
    rows = []
    for c in result.get("claims", []):
        measured = ", ".join(f"{k}={_fmt(v)}" for k, v in c["measured"].items())
        rows.append(("yes" if c["holds"] else "NO", c["claim"], measured))
    if rows:
        ui.print_table("claims checked in this run", ["holds", "name", "measured"], rows)


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.3g}"
    if isinstance(v, list) and len(v) > 6:
        return f"[{', '.join(_fmt(x) for x in v[:6])}, ...]"
    if isinstance(v, list):
        return f"[{', '.join(_fmt(x) for x in v)}]"
    return str(v)


def run_with_progress(label, fn, **kwargs):
    """Call an experiment's run() with a rich progress bar fed by its progress callback."""
    with ui.progress() as bar:
        task = bar.add_task(label, total=None, status="")

        def progress(done, total, status=""):
            bar.update(task, completed=done, total=total, status=status)

        return fn(progress=progress, **kwargs)
