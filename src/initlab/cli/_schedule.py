"""`--schedule SPEC` and `--warmup N` (initlab train): a learning-rate schedule over the run.

SPEC is a schedule name with optional keyword arguments, written as an initializer spec:
'cosine', 'cosine(eta_min=1e-5)', 'step(step_size=500, gamma=0.5)', 'exponential(gamma=0.999)',
'multistep(milestones=[1000, 1500])', 'linear(start_factor=1, end_factor=0.1)', 'one_cycle'.
Lengths count optimizer steps (batches). A length not given spans the run: cosine's T_max,
one_cycle's total_steps and linear's total_iters are the run's steps after the warm-up; step's
step_size is one epoch. `--warmup N` ramps the rate up linearly over the first N steps first.
"""
from __future__ import annotations

import ast
import re

from ..errors import InitlabError, InvalidValueError, unknown_name
from ..schedules import SCHEDULES, Warmup, build_schedule
from ._options import MAX_STEPS, check_at_most, named

NAMES = tuple(name for name in SCHEDULES if name != "warmup")      # warm-up is --warmup
# the length each schedule spans when the spec does not say ("run": the run after the warm-up)
SPANS = {"cosine": ("T_max", "run"), "one_cycle": ("total_steps", "run"), "linear": ("total_iters", "run"),
         "step": ("step_size", "epoch")}
EXAMPLES = {"exponential": "exponential(gamma=0.999)", "multistep": "multistep(milestones=[1000, 1500])"}
_SPEC = re.compile(r"\s*([A-Za-z_]\w*)\s*(?:\((.*)\))?\s*", re.S)


def parse(spec: str, option: str = "--schedule") -> tuple[str, dict]:
    """'step(step_size=500, gamma=0.5)' -> ('step', {'step_size': 500, 'gamma': 0.5}); the values
    are Python literals (numbers, lists), read without running any code."""
    match = _SPEC.fullmatch(str(spec))
    if not match:
        raise InvalidValueError(f"{option}: expected a schedule name with optional keyword arguments, "
                                f"e.g. cosine or 'step(step_size=500, gamma=0.5)', got {spec!r}")
    name, body = match[1], match[2]
    if name not in NAMES:
        raise named(option, unknown_name("schedule", name, NAMES))
    kwargs = {}
    if body and body.strip():
        try:
            call = ast.parse(f"f({body})", mode="eval").body
            if call.args:
                raise ValueError("positional argument")
            kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords}
            if None in kwargs:
                raise ValueError("**")
        except (SyntaxError, ValueError):
            raise InvalidValueError(f"{option}: expected keyword arguments such as step_size=500, gamma=0.5 "
                                    f"in {spec!r}") from None
    return name, kwargs


def build(spec, warmup, total_steps: int, steps_per_epoch: int, option: str = "--schedule"):
    """The schedule of a run of `total_steps` steps (None when neither option is given); every
    bad value is an error naming its option."""
    if warmup is not None:
        if not isinstance(warmup, int) or isinstance(warmup, bool) or warmup < 1:
            raise InvalidValueError(f"--warmup: expected an integer >= 1 (steps), got {warmup!r}")
        check_at_most(warmup, MAX_STEPS, "--warmup")
    if spec is None:
        return None if warmup is None else Warmup(warmup)
    name, kwargs = parse(spec, option)
    span = total_steps - (warmup or 0)
    if span < 1:
        raise InvalidValueError(f"--warmup: {warmup} step(s) leave no step for --schedule {name} "
                                f"(the run has {total_steps} steps)")
    if name in SPANS:
        key, length = SPANS[name]
        kwargs.setdefault(key, span if length == "run" else steps_per_epoch)
    try:
        schedule = build_schedule({"name": name, **kwargs})
    except TypeError:       # a required argument missing
        raise InvalidValueError(f"{option} {name}: needs its arguments, e.g. {EXAMPLES.get(name, name)!r}") from None
    except InitlabError as exc:
        raise named(option, exc) from None
    return schedule if warmup is None else Warmup(warmup, schedule)
