"""Optimizers that update a Sequential's trainable parameters from its last backward pass.

Floor 3. The update rules are PyTorch's, step for step (torch.optim.SGD, torch.optim.Adam with
L2 `weight_decay` added to the gradient and `amsgrad`, torch.optim.AdamW with decoupled weight
decay), so trajectories can be compared directly. A layer with `trainable = False` (frozen
hand-made filters) is skipped.

Parameter groups (PyTorch's param_groups) give some parameters their own lr or weight_decay:
`param_groups=[{"params": ["*.bias"], "weight_decay": 0.0}]` (shell-style patterns over the
state-dict keys "0.weight", "3.bias", ...); the parameters no group names use the optimizer's
own values. A `schedule` (initlab.schedules) sets each step's learning rate from the step count:
group lr at step t = schedule.lr(group's lr, t).
"""
from __future__ import annotations

import fnmatch
import inspect
import math

import numpy as np

from .constraints import AllOf, Boolean, Real, Rule, Satisfies, SequenceOf, check
from .errors import InvalidValueError, unknown_name
from .optim_checks import check_param_groups, check_state
from .schedules import as_schedule

# the learning rate a run takes when none is given, by optimizer (the CLI and the estimator)
DEFAULT_LR = {"sgd": 0.05, "adam": 1e-3, "adamw": 1e-3}



class Optimizer:
    """Base: holds the model, per-parameter state keyed like the state dict, a step counter,
    the parameter groups and the learning-rate schedule."""

    BUFFERS: tuple[str, ...] = ()     # the per-parameter state a subclass keeps
    PARAMETERS = {"lr": Real(0, low_open=True), "weight_decay": Real(0)}

    def __init__(self, model, lr, weight_decay=0.0, param_groups=(), schedule=None):
        self.model = model
        self.lr, self.weight_decay = check(type(self).__name__, self.PARAMETERS,
                                           dict(lr=lr, weight_decay=weight_decay)).values()
        self.param_groups = check_param_groups(f"{type(self).__name__} param_groups", param_groups, model)
        self.schedule = as_schedule(schedule, f"{type(self).__name__} schedule")
        self.state: dict[str, dict[str, np.ndarray]] = {}
        self.steps = 0
        self._group_of: dict[str, int | None] = {}

    def _group(self, key):
        """The index of the group that names parameter `key`, or None (the optimizer's own values)."""
        if key not in self._group_of:
            self._group_of[key] = next((i for i, g in enumerate(self.param_groups)
                                        if any(fnmatch.fnmatchcase(key, p) for p in g["params"])), None)
        return self._group_of[key]

    def lr_at(self, t=None, base_lr=None) -> float:
        """The learning rate of step t (default: the next step) for a group whose own rate is
        base_lr (default: the optimizer's lr)."""
        t = self.steps if t is None else t
        base_lr = self.lr if base_lr is None else base_lr
        return base_lr if self.schedule is None else self.schedule.lr(base_lr, t)

    def _hyper(self, group) -> tuple[float, float]:
        """(lr, weight_decay) of this step for group index `group` (None: the optimizer's own)."""
        options = {} if group is None else self.param_groups[group]
        return self.lr_at(base_lr=options.get("lr", self.lr)), options.get("weight_decay", self.weight_decay)

    def step(self):
        hyper = {}
        for key, layer, name in self.model.named_parameters(trainable_only=True):
            if name not in layer.grads:
                raise InvalidValueError(
                    f"{type(self).__name__}.step: {layer.label} has no gradient for '{name}'; "
                    "call model.backward(...) before step()"
                )
            group = self._group(key)
            if group not in hyper:
                hyper[group] = self._hyper(group)
            self._update(key, layer.params[name], layer.grads[name], *hyper[group])
        self.steps += 1

    def _update(self, key, param, grad, lr, weight_decay):
        raise NotImplementedError

    def _config(self, name, **options) -> dict:
        """config() of a subclass: its name and options, then the groups and the schedule."""
        return dict(name=name, lr=self.lr, **options, weight_decay=self.weight_decay,
                    param_groups=[dict(g) for g in self.param_groups],
                    schedule=None if self.schedule is None else self.schedule.config())

    def config(self) -> dict:
        raise NotImplementedError

    def state_dict(self) -> dict[str, np.ndarray]:
        """Flat {"<param key>.<buffer>": array} (e.g. "0.weight.momentum_buffer") plus "steps"."""
        flat = {f"{key}.{buf}": value.copy() for key, bufs in self.state.items() for buf, value in bufs.items()}
        flat["steps"] = np.array(self.steps, dtype=np.int64)
        return flat

    def load_state_dict(self, flat):
        """Restore what `state_dict` returned: every buffer must belong to a parameter of the
        model, with its shape; InvalidValueError naming the first that does not (nothing changes)."""
        self.state, steps = check_state(f"{type(self).__name__}.load_state_dict", flat, self.model, self.BUFFERS)
        self.steps = steps


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, Nesterov and weight decay (PyTorch's rule):

        g = grad + weight_decay * p
        b = g (first step), b = momentum * b + (1 - dampening) * g (later)
        g = g + momentum * b (Nesterov) or g = b
        p = p - lr * g
    """

    BUFFERS = ("momentum_buffer",)
    SGD_PARAMETERS = {"momentum": Real(0, 1), "dampening": Real(0, 1)}
    SGD_RULES = (Rule("nesterov", lambda o: None if not o["nesterov"] or (o["momentum"] > 0 and o["dampening"] == 0)
                      else "requires momentum > 0 and dampening 0"),)

    def __init__(self, model, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0, dampening=0.0,
                 param_groups=(), schedule=None):
        super().__init__(model, lr, weight_decay, param_groups, schedule)
        self.momentum, self.dampening, self.nesterov = check("SGD", self.SGD_PARAMETERS, dict(
            momentum=momentum, dampening=dampening, nesterov=bool(nesterov)), self.SGD_RULES).values()

    def _update(self, key, param, grad, lr, weight_decay):
        if weight_decay:
            grad = grad + weight_decay * param
        if self.momentum:
            state = self.state.setdefault(key, {})
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = grad.copy()
            else:
                buf *= self.momentum
                buf += (1 - self.dampening) * grad
            grad = grad + self.momentum * buf if self.nesterov else buf
        param -= lr * grad

    def config(self):
        return self._config("sgd", momentum=self.momentum, nesterov=self.nesterov, dampening=self.dampening)


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015), PyTorch's rule with L2 weight decay:

        g = grad + weight_decay * p;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
        p = p - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)

    amsgrad (Reddi et al. 2018): v_max = max(v_max, v) replaces v in the denominator.
    """

    DECOUPLED = False     # AdamW: weight decay shrinks p directly instead of entering g
    ADAM_PARAMETERS = {"betas": AllOf(Satisfies(lambda b: isinstance(b, (tuple, list)) and len(b) == 2,
                                                "a pair (beta1, beta2)"), SequenceOf(Real(0, 1, high_open=True))),
                       "eps": Real(0, low_open=True), "amsgrad": Boolean()}

    def __init__(self, model, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
                 param_groups=(), schedule=None):
        super().__init__(model, lr, weight_decay, param_groups, schedule)
        self.betas, self.eps, self.amsgrad = check(type(self).__name__, self.ADAM_PARAMETERS,
                                                   dict(betas=betas, eps=eps, amsgrad=amsgrad)).values()
        self.BUFFERS = ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if self.amsgrad else ())

    def step(self):
        self._t = self.steps + 1
        super().step()

    def _update(self, key, param, grad, lr, weight_decay):
        b1, b2 = self.betas
        if weight_decay:
            if self.DECOUPLED:
                param *= 1 - lr * weight_decay
            else:
                grad = grad + weight_decay * param
        state = self.state.setdefault(key, {})
        if "exp_avg" not in state:
            for buf in self.BUFFERS:
                state[buf] = np.zeros_like(param)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= b1
        m += (1 - b1) * grad
        v *= b2
        v += (1 - b2) * grad * grad
        if self.amsgrad:
            v = np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
        correction1 = 1 - b1 ** self._t
        correction2 = 1 - b2 ** self._t
        # Python floats, not NumPy float64 scalars: those would upcast float32 arrays to float64
        denom = np.sqrt(v) / math.sqrt(correction2) + self.eps
        param -= (lr / correction1) * m / denom

    def config(self):
        return self._config(type(self).__name__.lower(), betas=list(self.betas), eps=self.eps,
                            amsgrad=self.amsgrad)


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter 2019): Adam with decoupled weight decay, PyTorch's rule

        p = p * (1 - lr * weight_decay), then the Adam step on the plain gradient

    (weight_decay defaults to 0.01 as in torch.optim.AdamW).
    """

    DECOUPLED = True

    def __init__(self, model, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, amsgrad=False,
                 param_groups=(), schedule=None):
        super().__init__(model, lr, betas, eps, weight_decay, amsgrad, param_groups, schedule)


OPTIMIZERS = {"sgd": SGD, "adam": Adam, "adamw": AdamW}


def build_optimizer(model, config: dict) -> Optimizer:
    """An optimizer from its `config()` dict ({"name": "sgd", "lr": ...})."""
    if not isinstance(config, dict):
        raise InvalidValueError(f"optimizer config: expected a dict like {{'name': 'sgd', 'lr': 0.1}}, "
                                f"got {config!r}")
    config = dict(config)
    name = config.pop("name", None)
    if not isinstance(name, str) or name not in OPTIMIZERS:
        raise unknown_name("optimizer", name, OPTIMIZERS)
    cls = OPTIMIZERS[name]
    accepted = [p for p in inspect.signature(cls).parameters if p != "model"]
    for key in config:
        if key not in accepted:
            raise unknown_name(f"parameter of {name}", key, accepted)
    return cls(model, **config)
