"""What the commands share: the parser, option checks (lists, paths, size limits), and for the
lab commands the --seeds/--out/--force options, the output folder and saving."""
from __future__ import annotations

import argparse
import contextlib
import importlib
import inspect
import json
import os
import re
import tempfile
from pathlib import Path

from .. import atomic, models
from ..errors import InitlabError, InvalidValueError, UnknownNameError
from ..experiments import to_jsonable
from . import ui


# --------------------------------------------------------------------------- the parser

class Parser(argparse.ArgumentParser):
    """argparse with three changes for a command line that must not guess:
    - no prefix matching (`--seed 3` is not `--seeds 3`, which would run seeds 0, 1, 2);
    - a negative number in scientific notation is a value (`--lr -1e-3`), not an option;
    - a usage error is one line, naming the option, plus where to find the help."""

    def __init__(self, *args, allow_abbrev=False, **kwargs):
        super().__init__(*args, allow_abbrev=allow_abbrev, **kwargs)
        # argparse itself knows only -1 and -1.5 (Python 3.11)
        self._negative_number_matcher = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


class _UseSeeds(argparse.Action):
    """`--seed N` on a command that takes --seeds: an error with the spelling it needs."""

    def __call__(self, parser, namespace, values, option_string=None):
        one = values if values and values.isdigit() else "5"
        parser.error(f"{option_string}: this command takes --seeds: a count (--seeds 3 runs seeds 0,1,2), "
                     f"a list (--seeds 0,5,9) or one seed (--seeds {one},)")


# --------------------------------------------------------------------------- lists

_OPEN, _CLOSE = "([{", ")]}"


def split_list(text: str, option: str, *, unique: bool = True) -> list[str]:
    """Split a comma-separated option value on the commas outside (), [], {} and quotes:
    "he_normal, truncated_normal(std=1, a=-2, b=2)" -> ["he_normal", "truncated_normal(std=1, a=-2, b=2)"].

    Items are stripped; an empty item, an unbalanced bracket or quote, or (with unique) an item
    given twice (ignoring case and spaces: each item is one run, and two would collide in the
    results) is an InvalidValueError naming `option` (e.g. "--inits")."""
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
    if unique:
        check_unique(items, option, key=lambda item: "".join(item.split()).lower())
    return items


def check_unique(items, option: str, key=lambda item: item):
    """Refuse an item given twice (compared by key): each item is one run, named in the results."""
    seen = {}
    for item in items:
        if key(item) in seen:
            raise InvalidValueError(f"{option}: expected each item once, got {item!r} after "
                                    f"{seen[key(item)]!r}; each is one run and they would collide in the results")
        seen[key(item)] = item


def split_ints(text: str, option: str, *, unique: bool = True) -> tuple[int, ...]:
    """'10,20, 30' -> (10, 20, 30); anything that is not an integer is an error naming `option`."""
    items = split_list(text, option, unique=False)
    try:
        numbers = tuple(int(item) for item in items)
    except ValueError:
        raise InvalidValueError(f"{option}: expected comma-separated integers, got {text!r}") from None
    if unique:
        check_unique(numbers, option)
    return numbers


def seeds_arg(text: str) -> tuple[int, ...]:
    """'3' -> (0, 1, 2); '0,5,9' -> (0, 5, 9); '5,' -> (5,), one seed. An argparse type: a bad
    value is an ArgumentTypeError, the only kind whose message argparse shows."""
    try:
        if "," in text:
            seeds = split_ints(text.strip().removesuffix(","), "--seeds", unique=False)
        elif int(text) > MAX_SEEDS:
            raise argparse.ArgumentTypeError(f"expected at most {MAX_SEEDS} seeds, got {text!r}")
        else:
            seeds = tuple(range(int(text)))
    except (ValueError, InvalidValueError):
        raise argparse.ArgumentTypeError(f"expected a count (3), a list (0,5,9) or one seed (5,), got {text!r}") from None
    if not seeds or min(seeds) < 0:
        raise argparse.ArgumentTypeError(f"expected a count >= 1 or a list of seeds >= 0, got {text!r}")
    if len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"a seed is repeated in {text!r}: each seed is one run")
    if len(seeds) > MAX_SEEDS:
        raise argparse.ArgumentTypeError(f"expected at most {MAX_SEEDS} seeds, got {len(seeds)}")
    return seeds


# --------------------------------------------------------------------------- size limits

MAX_DEPTH = 1000          # layers
MAX_WIDTH = 1024          # channels per layer
MAX_IMAGES = 100_000      # images (a count or a cap on a dataset), or images in a batch
MAX_STEPS = 1_000_000     # training steps or epochs
MAX_SEEDS = 1000          # seeds, or nets averaged
LIMITS_HELP = (f"Sizes are bounded, to catch a mistyped one before it exhausts the memory or hangs: at "
               f"most {MAX_DEPTH:,} layers, {MAX_WIDTH:,} channels per layer, {MAX_IMAGES:,} images (or per "
               f"batch), {MAX_STEPS:,} steps or epochs, {MAX_SEEDS:,} seeds. Sizes within the bounds can "
               f"still need more memory than the machine has; that is a one-line error too.")

# the bound of every size option, by its argparse dest
LIMITS = {"depth": MAX_DEPTH, "max_depth": MAX_DEPTH, "train_depth": MAX_DEPTH, "theory_depth": MAX_DEPTH,
          "width": MAX_WIDTH, "theory_width": MAX_WIDTH,
          "n": MAX_IMAGES, "n_images": MAX_IMAGES, "n_train": MAX_IMAGES, "batch": MAX_IMAGES,
          "batch_size": MAX_IMAGES, "steps": MAX_STEPS, "deep_steps": MAX_STEPS, "epochs": MAX_STEPS,
          "theory_seeds": MAX_SEEDS}


def option_name(dest: str) -> str:
    """An argparse dest as the user types the option: batch_size -> --batch-size."""
    return "--" + dest.replace("_", "-")


def check_at_most(value: int, high: int, option: str) -> int:
    """value <= high: a larger size would exhaust the memory (or hang building the model)."""
    if value > high:
        raise InvalidValueError(f"{option}: expected at most {high:,} (a bound that catches a mistyped "
                                f"size), got {value:,}")
    return value


def check_plain_model(name, option: str = "--model"):
    """A "plain:DEPTHxWIDTH" model name has a depth and a width from 1 to their limits
    (other names are left to the command's own check: cv also takes "auto")."""
    try:
        kind, sizes = models.parse_name(name)
    except UnknownNameError:
        return
    if kind == "plain":
        for value, what, high in zip(sizes, ("depth", "width"), (MAX_DEPTH, MAX_WIDTH)):
            if value < 1:
                raise InvalidValueError(f"{option} {name}: {what}: expected an integer >= 1, got {value}")
            check_at_most(value, high, f"{option} {name}: {what}")


def check_limits(args):
    """Every size option given (LIMITS, by dest) is within its bound; the lower bounds are the
    commands' own checks."""
    for dest, high in LIMITS.items():
        value = getattr(args, dest, None)
        if isinstance(value, int) and not isinstance(value, bool):
            check_at_most(value, high, option_name(dest))


# --------------------------------------------------------------------------- paths

def check_not_empty(value, option: str, what: str):
    """An empty path would silently mean the current folder, or nothing at all."""
    if value is not None and not str(value).strip():
        raise InvalidValueError(f"{option}: expected {what}, got an empty string")


def check_writable_folder(folder, option: str, given=None):
    """`folder` takes new files, or can be created: tried with a temporary folder (removed at
    once) in the nearest folder on its path that exists, so that a place that cannot be
    written fails before any work, naming the option and the value `given` (default: folder)."""
    folder = Path(folder)
    given = str(folder if given is None else given)
    nearest = next(path for path in (folder, *folder.parents) if path.exists())
    if not nearest.is_dir():
        raise InvalidValueError(f"{option}: {str(nearest)!r} is an existing file, expected a folder"
                                + ("" if nearest == folder else f" (on the way to {str(folder)!r})"))
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".initlab-write-test-", dir=nearest))
    except OSError as exc:
        raise InvalidValueError(f"{option}: expected a path where files can be written, got {given!r} "
                                f"(writing in {str(nearest)!r} failed: {exc.strerror})") from None


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


def check_study_options(study, kwargs: dict, options: dict | None = None):
    """Call study.check_options with the keywords of kwargs it takes, so that every bad value
    (a negative n_train, a batch larger than the data, ...) fails before --out is created.

    `options` ({keyword: option as typed, e.g. "--batch-size"}: those the user gave) lets an
    error name its option: the first whose value, left to the study's default, makes the check
    pass (the study's messages name its keywords, which are not always the options)."""
    accepted = inspect.signature(study.check_options).parameters
    kwargs = {k: v for k, v in kwargs.items() if k in accepted}
    try:
        return study.check_options(**kwargs)
    except InitlabError as exc:
        option = _blame(study.check_options, kwargs, options or {})
        if option is None or str(exc).startswith(option):
            raise
        raise type(exc)(f"{option}: {_without_keyword(str(exc), option)}") from None


def _blame(check, kwargs: dict, options: dict) -> str | None:
    """The first option whose keyword, dropped from kwargs (left to the study's default), makes
    `check` pass. (Not merely change its error: without --data the default datasets may fail
    on another dataset, and --data would be blamed for --kernel-size's error.)"""
    for key, option in options.items():
        if key in kwargs:
            try:
                check(**{k: v for k, v in kwargs.items() if k != key})
            except (InitlabError, TypeError):   # still failing, or a keyword without a default
                continue
            return option
    return None


def _without_keyword(message: str, option: str) -> str:
    """"depth: batch_size: expected ..." -> "expected ..." for --batch-size (the study's name
    and the keyword go, spelled as the option or with underscores; another spelling stays)."""
    for label in ("symmetry", "zero-mean", "zero_mean", "filters", "prefilters", "depth", "propagate"):
        message = message.removeprefix(f"{label}: ")
    for keyword in (option[2:], option[2:].replace("-", "_")):
        message = message.removeprefix(f"{keyword}: ")
    return message


def add_common(parser, *, default_out, default_seeds="2"):
    parser.add_argument("--seeds", type=seeds_arg, default=None,
                        help=f"a count (3 = seeds 0,1,2), a list (0,5,9) or one seed (5,); default "
                             f"{default_seeds} (with --tiny, the tiny preset's); at most {MAX_SEEDS}")
    parser.add_argument("--seed", nargs="?", action=_UseSeeds, help=argparse.SUPPRESS)
    parser.set_defaults(default_seeds=seeds_arg(default_seeds))
    parser.add_argument("--out", default=default_out, help=f"output folder (default {default_out})")
    parser.add_argument("--force", action="store_true", help="write into an existing output folder")


def prepare_out(out, force: bool) -> Path:
    """Create the output folder; refuse an empty path, a file, a folder that cannot be written,
    and an existing non-empty folder unless force."""
    check_not_empty(out, "--out", "a folder path")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InvalidValueError(f"--out: {out} exists and is not a folder")
    if out.exists() and any(out.iterdir()) and not force:
        raise InvalidValueError(f"--out: folder {out} already exists and is not empty; pass --force to overwrite")
    check_writable_folder(out, "--out")
    out.mkdir(parents=True, exist_ok=True)
    return out


@contextlib.contextmanager
def output_folder(out, force: bool):
    """prepare_out for the body of a run; when the run fails, the folders it created and left
    empty are removed again (a failed run leaves nothing behind)."""
    created = [path for path in (Path(out), *Path(out).parents) if not path.exists()]
    folder = prepare_out(out, force)
    try:
        yield folder
    except BaseException:
        for path in created:                 # the deepest first
            if not path.is_dir() or any(path.iterdir()):
                break
            path.rmdir()
        raise


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


def given_flags(args, kwargs: dict, renamed: dict | None = None) -> dict:
    """{keyword: option} for the keywords in kwargs whose option the user gave (its dest is
    the keyword, or renamed[keyword]); what check_study_options may blame."""
    renamed = renamed or {}
    return {key: option_name(renamed.get(key, key)) for key in kwargs
            if getattr(args, renamed.get(key, key), None) is not None}


def study_command(args, label: str, module_name: str, kwargs: dict, print_tables, renamed=None) -> int:
    """A study subcommand's whole run: check the options (before --out is created), prepare
    --out, run the study and write its files, say what was written; returns the exit status.
    `renamed`: {study keyword: argparse dest} where they differ (see given_flags)."""
    study = importlib.import_module(f"initlab.experiments.{module_name}")
    check_study_options(study, kwargs, given_flags(args, kwargs, renamed))
    with output_folder(args.out, args.force) as out:
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
