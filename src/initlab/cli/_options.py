"""What the commands' options share: the parser (no guessing), comma-separated lists and
seeds, and the bounds on sizes."""
from __future__ import annotations

import argparse
import re

from .. import models
from ..constraints import check
from ..errors import InitlabError, InvalidValueError, UnknownNameError


# --------------------------------------------------------------------------- the parser

class Parser(argparse.ArgumentParser):
    """argparse with three changes for a command line that must not guess:
    - no prefix matching (`--seed 3` is not `--seeds 3`, which would run seeds 0, 1, 2);
    - a negative number in scientific notation is a value (`--lr -1e-3`), not an option;
    - a usage error is one line, naming the option, plus where to find the help."""

    def __init__(self, *args, allow_abbrev=False, **kwargs):
        super().__init__(*args, allow_abbrev=allow_abbrev, **kwargs)
        # argparse itself knows only -1 and -1.5 (Python 3.11); any word that starts with "-" and
        # a digit or a dot is a value (-1e-3, -1, for a list, -1e as a mistyped --checkpoint-every),
        # and so are -inf and -nan, so that the option's own check names what is wrong with it
        self._negative_number_matcher = re.compile(r"^-([\d.][\w.,+-]*|inf|nan)$", re.IGNORECASE)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


class UseSeeds(argparse.Action):
    """`--seed N` on a command that takes --seeds: an error with the spelling it needs."""

    def __call__(self, parser, namespace, values, option_string=None):
        one = values if values and values.isdigit() else "5"
        parser.error(f"{option_string}: this command takes --seeds: a count (--seeds 3 runs seeds 0,1,2), "
                     f"a list (--seeds 0,5,9) or one seed (--seeds {one},)")


def count(text: str) -> int:
    """An argparse type for integer options: ASCII digits only (int() also reads '１２' and '١٢',
    which no one types on purpose)."""
    if not str(text).isascii():
        raise argparse.ArgumentTypeError(f"expected an integer in ASCII digits (0-9), got {text!r}")
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


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
          "theory_seeds": MAX_SEEDS, "sweep_seeds": MAX_SEEDS, "keep": MAX_STEPS,
          "train_width": MAX_WIDTH, "pretrain_steps": MAX_STEPS}


def named(option: str, exc: InitlabError) -> InitlabError:
    """The same error, its message starting with the option as typed ("--init: ...")."""
    return type(exc)(f"{option}: {exc}")


def check_flags(table: dict, values: dict, rules: tuple = (), flags: dict | None = None) -> dict:
    """`constraints.check` of the options' values against `table`; a failure names the option
    its key maps to (`flags[key]`, else `--key`), with the constraint's own "expected ..., got ..."."""
    try:
        return check("", table, values, rules)
    except InitlabError as exc:
        if exc.param is None:
            raise
        raise type(exc)(f"{(flags or {}).get(exc.param, option_name(exc.param))}: {exc.detail}") from None


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
