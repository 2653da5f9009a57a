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

from .errors import InvalidValueError, unknown_name
from .schedules import as_schedule
from .validate import real_number

# the learning rate a run takes when none is given, by optimizer (the CLI and the estimator)
DEFAULT_LR = {"sgd": 0.05, "adam": 1e-3, "adamw": 1e-3}
GROUP_OPTIONS = ("lr", "weight_decay")     # what a parameter group may set for its parameters


class Optimizer:
    """Base: holds the model, per-parameter state keyed like the state dict, a step counter,
    the parameter groups and the learning-rate schedule."""

    BUFFERS: tuple[str, ...] = ()     # the per-parameter state a subclass keeps

    def __init__(self, model, lr, weight_decay=0.0, param_groups=(), schedule=None):
        self.model = model
        self.lr = real_number(lr, f"{type(self).__name__} lr", low=0, low_open=True)
        self.weight_decay = real_number(weight_decay, f"{type(self).__name__} weight_decay", low=0)
        self.param_groups = self._check_groups(param_groups)
        self.schedule = as_schedule(schedule, f"{type(self).__name__} schedule")
        self.state: dict[str, dict[str, np.ndarray]] = {}
        self.steps = 0
        self._group_of: dict[str, int | None] = {}

    def _check_groups(self, groups) -> list[dict]:
        """Each group {"params": [patterns], "lr"?: x, "weight_decay"?: y}, every pattern naming
        a parameter of the model, no parameter in two groups (as PyTorch refuses)."""
        where = f"{type(self).__name__} param_groups"
        if not isinstance(groups, (list, tuple)):
            raise InvalidValueError(f"{where}: expected a list of dicts like [{{'params': ['*.bias'], "
                                    f"'weight_decay': 0.0}}], got {type(groups).__name__}")
        keys = [f"{i}.{name}" for i, layer in enumerate(self.model.layers)
                for name in dict.fromkeys([*layer.params, *getattr(layer, "init_names", {})])]
        checked, owner = [], {}
        for i, group in enumerate(groups):
            if not isinstance(group, dict) or "params" not in group:
                raise InvalidValueError(f"{where}[{i}]: expected a dict with 'params' (a list of parameter "
                                        f"names or patterns such as '*.bias'), got {group!r}")
            patterns = group["params"]
            patterns = [patterns] if isinstance(patterns, str) else patterns
            if not isinstance(patterns, (list, tuple)) or not all(isinstance(p, str) for p in patterns):
                raise InvalidValueError(f"{where}[{i}] params: expected a list of parameter names or "
                                        f"patterns such as ['*.bias'], got {group['params']!r}")
            for key in group:
                if key != "params" and key not in GROUP_OPTIONS:
                    raise unknown_name(f"option of {where}[{i}]", key, ["params", *GROUP_OPTIONS])
            for pattern in patterns:
                matched = [k for k in keys if fnmatch.fnmatchcase(k, pattern)]
                if not matched:
                    raise InvalidValueError(f"{where}[{i}] params: {pattern!r} names no parameter of the "
                                            f"model (its parameters: {', '.join(keys)})")
                for key in matched:
                    if owner.setdefault(key, i) != i:
                        raise InvalidValueError(f"{where}[{i}] params: {key!r} is already in group "
                                                f"{owner[key]}; a parameter belongs to one group")
            options = {"params": list(patterns)}
            if "lr" in group:
                options["lr"] = real_number(group["lr"], f"{where}[{i}] lr", low=0, low_open=True)
            if "weight_decay" in group:
                options["weight_decay"] = real_number(group["weight_decay"], f"{where}[{i}] weight_decay", low=0)
            checked.append(options)
        return checked

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
        where = f"{type(self).__name__}.load_state_dict"
        if not isinstance(flat, dict):
            raise InvalidValueError(f"{where}: expected a dict like state_dict()'s, got {type(flat).__name__}")
        params = {key: layer.params[name] for key, layer, name in self.model.named_parameters()}
        state: dict[str, dict[str, np.ndarray]] = {}
        for name, value in flat.items():
            if name == "steps":
                continue
            key, _, buf = str(name).rpartition(".")
            if key not in params or buf not in self.BUFFERS:
                raise InvalidValueError(
                    f"{where}: unexpected entry {name!r}; expected '<parameter>.<buffer>' with a "
                    f"parameter of the model (e.g. {next(iter(params), '0.weight')!r}) and a buffer "
                    f"in {list(self.BUFFERS)}")
            value = np.asarray(value)
            if value.shape != params[key].shape or value.dtype.kind != "f":
                raise InvalidValueError(
                    f"{where}: {name!r} is {value.dtype}{list(value.shape)}, expected a float array of "
                    f"shape {list(params[key].shape)} like parameter {key!r}")
            state.setdefault(key, {})[buf] = value.astype(params[key].dtype, copy=True)
        for key, bufs in state.items():        # a parameter's state is all of its buffers or none
            if set(bufs) != set(self.BUFFERS):
                missing = sorted(set(self.BUFFERS) - set(bufs))
                raise InvalidValueError(f"{where}: parameter {key!r} has {sorted(bufs)} but not {missing}; "
                                        f"expected all of {list(self.BUFFERS)}")
        steps = flat.get("steps", 0)
        count = np.ndim(steps) == 0 and np.asarray(steps).dtype.kind in "iuf"
        if not (count and float(steps).is_integer() and steps >= 0):
            raise InvalidValueError(f"{where}: 'steps' must be an integer >= 0, got {steps!r}")
        self.state = state
        self.steps = int(steps)


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, Nesterov and weight decay (PyTorch's rule):

        g = grad + weight_decay * p
        b = g (first step), b = momentum * b + (1 - dampening) * g (later)
        g = g + momentum * b (Nesterov) or g = b
        p = p - lr * g
    """

    BUFFERS = ("momentum_buffer",)

    def __init__(self, model, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0, dampening=0.0,
                 param_groups=(), schedule=None):
        super().__init__(model, lr, weight_decay, param_groups, schedule)
        self.momentum = real_number(momentum, "SGD momentum", low=0, high=1)
        self.dampening = real_number(dampening, "SGD dampening", low=0, high=1)
        self.nesterov = bool(nesterov)
        if self.nesterov and (self.momentum == 0 or self.dampening != 0):
            raise InvalidValueError("SGD nesterov: requires momentum > 0 and dampening 0")

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

    def __init__(self, model, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
                 param_groups=(), schedule=None):
        label = type(self).__name__
        super().__init__(model, lr, weight_decay, param_groups, schedule)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise InvalidValueError(f"{label} betas: expected a pair (beta1, beta2), got {betas!r}")
        self.betas = tuple(real_number(b, f"{label} betas", low=0, high=1, high_open=True) for b in betas)
        self.eps = real_number(eps, f"{label} eps", low=0, low_open=True)
        if not isinstance(amsgrad, (bool, np.bool_)):
            raise InvalidValueError(f"{label} amsgrad: expected True or False, got {amsgrad!r}")
        self.amsgrad = bool(amsgrad)
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
