"""Learning-rate schedules: the learning rate of each optimizer step, as a pure function of the
step number, with the formulas of torch.optim.lr_scheduler.

Floor 3. A schedule is `lr(base_lr, t) -> float`: the rate of optimizer step t (0-based) for a
parameter group whose own rate is `base_lr`. The optimizer holds it (`Adam(model, lr,
schedule=CosineAnnealingLR(T_max=1000))`) and asks it at each step, so a schedule keeps no state
of its own: the optimizer's step count is all of it, and a run resumed from a checkpoint sees the
same rates to the last bit. Steps count optimizer steps (batches), as PyTorch's scheduler stepped
once after every `optimizer.step()`; PyTorch's name for t is `last_epoch`.

PyTorch updates most of these recursively (lr *= gamma); the closed forms here agree with it to
rounding (about 1e-15 relative).
"""
from __future__ import annotations

import bisect
import inspect
import math

from .errors import InvalidValueError, unknown_name
from .constraints import AllOf, Integer, Options, Real, Satisfies, SequenceOf, check
from .validate import positive_int, real_number


class Schedule:
    """Base: `lr(base_lr, t)` and `config()` (a JSON-able dict that `build_schedule` rebuilds)."""

    name = ""
    PARAMETERS: dict = {}     # the constructor's constraints (initlab.constraints)

    def _given(self, **values):
        """Set the constructor's arguments as attributes, each checked against PARAMETERS."""
        for key, value in check(type(self).__name__, self.PARAMETERS, values).items():
            setattr(self, key, value)

    def lr(self, base_lr: float, t: int) -> float:
        raise NotImplementedError

    def config(self) -> dict:
        raise NotImplementedError

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "name")
        return f"{type(self).__name__}({args})"


class StepLR(Schedule):
    """lr_t = base_lr * gamma ** (t // step_size): decay by gamma every step_size steps."""

    name = "step"

    PARAMETERS = {"step_size": Integer(1), "gamma": Real(0, low_open=True)}

    def __init__(self, step_size, gamma=0.1):
        self._given(step_size=step_size, gamma=gamma)

    def lr(self, base_lr, t):
        return base_lr * self.gamma ** (t // self.step_size)

    def config(self):
        return dict(name=self.name, step_size=self.step_size, gamma=self.gamma)


class MultiStepLR(Schedule):
    """lr_t = base_lr * gamma ** (number of milestones <= t): decay by gamma at each milestone."""

    name = "multistep"

    PARAMETERS = {"milestones": AllOf(Satisfies(lambda m: isinstance(m, (list, tuple)) and len(m) > 0,
                                                "a non-empty list of step numbers"), SequenceOf(Integer(0))),
                  "gamma": Real(0, low_open=True)}

    def __init__(self, milestones, gamma=0.1):
        self._given(milestones=milestones, gamma=gamma)
        self.milestones = sorted(self.milestones)

    def lr(self, base_lr, t):
        # a repeated milestone decays twice, as in PyTorch (it counts milestones with a Counter)
        return base_lr * self.gamma ** bisect.bisect_right(self.milestones, t)

    def config(self):
        return dict(name=self.name, milestones=list(self.milestones), gamma=self.gamma)


class ExponentialLR(Schedule):
    """lr_t = base_lr * gamma ** t."""

    name = "exponential"

    PARAMETERS = {"gamma": Real(0, low_open=True)}

    def __init__(self, gamma):
        self._given(gamma=gamma)

    def lr(self, base_lr, t):
        return base_lr * self.gamma ** t

    def config(self):
        return dict(name=self.name, gamma=self.gamma)


class CosineAnnealingLR(Schedule):
    """lr_t = eta_min + (base_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2 (Loshchilov & Hutter
    2017, without restarts): from base_lr at t = 0 down to eta_min at t = T_max, and (as in
    PyTorch) back up along the same cosine after it."""

    name = "cosine"

    PARAMETERS = {"T_max": Integer(1), "eta_min": Real(0)}

    def __init__(self, T_max, eta_min=0.0):  # noqa: N803 (PyTorch's argument name)
        self._given(T_max=T_max, eta_min=eta_min)

    def lr(self, base_lr, t):
        return self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * t / self.T_max)) / 2

    def config(self):
        return dict(name=self.name, T_max=self.T_max, eta_min=self.eta_min)


class LinearLR(Schedule):
    """lr_t = base_lr * (start_factor + (end_factor - start_factor) * min(t, total_iters) / total_iters):
    a linear ramp of the factor over total_iters steps, then constant (a linear warm-up when
    end_factor is 1)."""

    name = "linear"

    PARAMETERS = {"start_factor": Real(0, 1, low_open=True), "end_factor": Real(0, 1), "total_iters": Integer(1)}

    def __init__(self, start_factor=1.0 / 3, end_factor=1.0, total_iters=5):
        self._given(start_factor=start_factor, end_factor=end_factor, total_iters=total_iters)

    def factor(self, t):
        return self.start_factor + (self.end_factor - self.start_factor) * min(t, self.total_iters) / self.total_iters

    def lr(self, base_lr, t):
        return base_lr * self.factor(t)

    def config(self):
        return dict(name=self.name, start_factor=self.start_factor, end_factor=self.end_factor,
                    total_iters=self.total_iters)


class OneCycleLR(Schedule):
    """The 1cycle policy (Smith & Topin 2019) with the group's lr as PyTorch's max_lr:

        initial = max_lr / div_factor;  min_lr = initial / final_div_factor
        two phases:   initial -> max_lr over steps [0, pct_start * total_steps - 1],
                      max_lr -> min_lr up to step total_steps - 1
        three_phase:  initial -> max_lr -> initial (ending at 2 * pct_start * total_steps - 2)
                      -> min_lr
        each phase:   anneal(start, end, pct), pct the fraction of the phase done; "cos":
                      end + (start - end) * (1 + cos(pi * pct)) / 2, "linear": start + (end - start) * pct

    Steps after the cycle keep min_lr (PyTorch raises instead). The learning rate only: the same
    as PyTorch with cycle_momentum=False.
    """

    name = "one_cycle"

    PARAMETERS = {"total_steps": Integer(2), "pct_start": Real(0, 1), "anneal_strategy": Options(("cos", "linear")),
                  "div_factor": Real(0, low_open=True), "final_div_factor": Real(0, low_open=True)}

    def __init__(self, total_steps, pct_start=0.3, anneal_strategy="cos", div_factor=25.0,
                 final_div_factor=1e4, three_phase=False):
        self._given(total_steps=total_steps, pct_start=pct_start, anneal_strategy=anneal_strategy,
                    div_factor=div_factor, final_div_factor=final_div_factor, three_phase=bool(three_phase))
        ends = self._phase_ends()
        if any(b <= a for a, b in zip([0.0, *ends], ends)):
            raise InvalidValueError(
                f"OneCycleLR pct_start: {self.pct_start:g} of {self.total_steps} steps leaves a phase "
                f"without steps (phase ends {ends}); give a pct_start or total_steps that leaves each phase one")

    def _phase_ends(self):
        """The last step of each phase (floats, as PyTorch computes them)."""
        rise = float(self.pct_start * self.total_steps) - 1
        if self.three_phase:
            return [rise, float(2 * self.pct_start * self.total_steps) - 2, self.total_steps - 1]
        return [rise, self.total_steps - 1]

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def lr(self, base_lr, t):
        initial = base_lr / self.div_factor
        lowest = initial / self.final_div_factor
        values = [initial, base_lr, initial, lowest] if self.three_phase else [initial, base_lr, lowest]
        ends = self._phase_ends()
        t = min(t, self.total_steps - 1)
        start = 0.0
        for i, end in enumerate(ends):
            if t <= end or i == len(ends) - 1:
                return self._anneal(values[i], values[i + 1], (t - start) / (end - start))
            start = end
        raise AssertionError("unreachable")

    def config(self):
        return dict(name=self.name, total_steps=self.total_steps, pct_start=self.pct_start,
                    anneal_strategy=self.anneal_strategy, div_factor=self.div_factor,
                    final_div_factor=self.final_div_factor, three_phase=self.three_phase)


class Warmup(Schedule):
    """A linear warm-up over `steps` steps, then the schedule `after` counted from the warm-up's end:

        lr_t = base_lr * (start_factor + (1 - start_factor) * t / steps)   for t < steps
        lr_t = after.lr(base_lr, t - steps)                                 for t >= steps

    PyTorch's SequentialLR([LinearLR(start_factor=start_factor, total_iters=steps), after],
    milestones=[steps]); `after=None` holds base_lr. The default start_factor 1 / steps starts
    at base_lr / steps (PyTorch's LinearLR refuses a factor of 0).
    """

    name = "warmup"

    def __init__(self, steps, after=None, start_factor=None):
        self.steps = positive_int(steps, "Warmup steps")
        start_factor = 1.0 / self.steps if start_factor is None else start_factor
        self.ramp = LinearLR(real_number(start_factor, "Warmup start_factor", low=0, high=1, low_open=True),
                             1.0, self.steps)
        self.after = None if after is None else as_schedule(after, "Warmup after")

    def lr(self, base_lr, t):
        if t < self.steps:
            return self.ramp.lr(base_lr, t)
        return base_lr if self.after is None else self.after.lr(base_lr, t - self.steps)

    def config(self):
        return dict(name=self.name, steps=self.steps, start_factor=self.ramp.start_factor,
                    after=None if self.after is None else self.after.config())


SCHEDULES = {cls.name: cls for cls in (StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR,
                                       LinearLR, OneCycleLR, Warmup)}


def class_from_config(table: dict, config, kind: str, example: str, *, owner: str = "{name}", skip=()):
    """(class, keyword arguments) from a config dict {"name": a key of `table`, **arguments}.

    Anything else is refused by name: a config that is not a dict ("<kind> config: expected a
    dict like <example>"), an unknown name, or an argument the class does not take ("unknown
    parameter of <owner> 'x'", owner formatted with the name). `skip`: the class's parameters
    that a config does not give (an optimizer's model)."""
    if not isinstance(config, dict):
        raise InvalidValueError(f"{kind} config: expected a dict like {example}, got {config!r}")
    config = dict(config)
    name = config.pop("name", None)
    if not isinstance(name, str) or name not in table:
        raise unknown_name(kind, name, table)
    cls = table[name]
    accepted = [p for p in inspect.signature(cls).parameters if p not in skip]
    for key in config:
        if key not in accepted:
            raise unknown_name(f"parameter of {owner.format(name=name)}", key, accepted)
    return cls, config


def build_schedule(config: dict) -> Schedule:
    """A schedule from its `config()` dict ({"name": "cosine", "T_max": 1000, ...})."""
    cls, arguments = class_from_config(SCHEDULES, config, "schedule", "{'name': 'cosine', 'T_max': 1000}",
                                       owner="schedule {name}")
    return cls(**arguments)


def as_schedule(value, name: str = "schedule") -> Schedule | None:
    """None, a Schedule, or a config dict (as saved in a checkpoint) -> a Schedule (or None)."""
    if value is None or isinstance(value, Schedule):
        return value
    if isinstance(value, dict):
        return build_schedule(value)
    raise InvalidValueError(f"{name}: expected a schedule (e.g. CosineAnnealingLR(T_max=1000)), its config "
                            f"dict, or None, got {type(value).__name__}")
