"""Optimizers that update a Sequential's trainable parameters from its last backward pass.

Floor 3. The update rules are PyTorch's, step for step (torch.optim.SGD and torch.optim.Adam
with L2 `weight_decay` added to the gradient), so trajectories can be compared directly.
A layer with `trainable = False` (frozen hand-made filters) is skipped.
"""
from __future__ import annotations

import inspect
import math

import numpy as np

from .errors import InvalidValueError, unknown_name
from .validate import real_number

# the learning rate a run takes when none is given, by optimizer (the CLI and the estimator)
DEFAULT_LR = {"sgd": 0.05, "adam": 1e-3}


class Optimizer:
    """Base: holds the model, per-parameter state keyed like the state dict, a step counter."""

    BUFFERS: tuple[str, ...] = ()     # the per-parameter state a subclass keeps

    def __init__(self, model, lr):
        self.model = model
        self.lr = real_number(lr, f"{type(self).__name__} lr", low=0, low_open=True)
        self.state: dict[str, dict[str, np.ndarray]] = {}
        self.steps = 0

    def step(self):
        for key, layer, name in self.model.named_parameters(trainable_only=True):
            if name not in layer.grads:
                raise InvalidValueError(
                    f"{type(self).__name__}.step: {layer.label} has no gradient for '{name}'; "
                    "call model.backward(...) before step()"
                )
            self._update(key, layer.params[name], layer.grads[name])
        self.steps += 1

    def _update(self, key, param, grad):
        raise NotImplementedError

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

    def __init__(self, model, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0, dampening=0.0):
        super().__init__(model, lr)
        self.momentum = real_number(momentum, "SGD momentum", low=0, high=1)
        self.weight_decay = real_number(weight_decay, "SGD weight_decay", low=0)
        self.dampening = real_number(dampening, "SGD dampening", low=0, high=1)
        self.nesterov = bool(nesterov)
        if self.nesterov and (self.momentum == 0 or self.dampening != 0):
            raise InvalidValueError("SGD nesterov: requires momentum > 0 and dampening 0")

    def _update(self, key, param, grad):
        if self.weight_decay:
            grad = grad + self.weight_decay * param
        if self.momentum:
            state = self.state.setdefault(key, {})
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = grad.copy()
            else:
                buf *= self.momentum
                buf += (1 - self.dampening) * grad
            grad = grad + self.momentum * buf if self.nesterov else buf
        param -= self.lr * grad

    def config(self):
        return dict(name="sgd", lr=self.lr, momentum=self.momentum, nesterov=self.nesterov,
                    weight_decay=self.weight_decay, dampening=self.dampening)


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015), PyTorch's rule with L2 weight decay:

        g = grad + weight_decay * p;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
        p = p - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
    """

    BUFFERS = ("exp_avg", "exp_avg_sq")

    def __init__(self, model, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(model, lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise InvalidValueError(f"Adam betas: expected a pair (beta1, beta2), got {betas!r}")
        self.betas = tuple(real_number(b, "Adam betas", low=0, high=1, high_open=True) for b in betas)
        self.eps = real_number(eps, "Adam eps", low=0, low_open=True)
        self.weight_decay = real_number(weight_decay, "Adam weight_decay", low=0)

    def step(self):
        self._t = self.steps + 1
        super().step()

    def _update(self, key, param, grad):
        b1, b2 = self.betas
        if self.weight_decay:
            grad = grad + self.weight_decay * param
        state = self.state.setdefault(key, {})
        if "exp_avg" not in state:
            state["exp_avg"] = np.zeros_like(param)
            state["exp_avg_sq"] = np.zeros_like(param)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= b1
        m += (1 - b1) * grad
        v *= b2
        v += (1 - b2) * grad * grad
        correction1 = 1 - b1 ** self._t
        correction2 = 1 - b2 ** self._t
        # Python floats, not NumPy float64 scalars: those would upcast float32 arrays to float64
        denom = np.sqrt(v) / math.sqrt(correction2) + self.eps
        param -= (self.lr / correction1) * m / denom

    def config(self):
        return dict(name="adam", lr=self.lr, betas=list(self.betas), eps=self.eps,
                    weight_decay=self.weight_decay)


OPTIMIZERS = {"sgd": SGD, "adam": Adam}


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
