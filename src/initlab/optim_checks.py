"""The checks of an optimizer's parameter groups and of a state dict loaded into it (floor 3).

What `optim.Optimizer` gets from a user beyond plain numbers (those are its constraint tables):
the parameter groups, each pattern naming parameters of the model, and a saved state dict,
each buffer belonging to a parameter with its shape. Each failure names where it was given.
"""
from __future__ import annotations

import fnmatch

import numpy as np

from .errors import InvalidValueError, unknown_name
from .validate import real_number

GROUP_OPTIONS = ("lr", "weight_decay")     # what a parameter group may set for its parameters


def check_param_groups(where: str, groups, model) -> list[dict]:
    """Each group {"params": [patterns], "lr"?: x, "weight_decay"?: y}, every pattern naming
    a parameter of the model, no parameter in two groups (as PyTorch refuses)."""
    if not isinstance(groups, (list, tuple)):
        raise InvalidValueError(f"{where}: expected a list of dicts like [{{'params': ['*.bias'], "
                                f"'weight_decay': 0.0}}], got {type(groups).__name__}")
    keys = [f"{i}.{name}" for i, layer in enumerate(model.layers)
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


def check_state(where: str, flat, model, buffers) -> tuple[dict, int]:
    """(state, steps) from what `Optimizer.state_dict` returned: every buffer must belong to a
    parameter of the model, with its shape; InvalidValueError naming the first that does not."""
    if not isinstance(flat, dict):
        raise InvalidValueError(f"{where}: expected a dict like state_dict()'s, got {type(flat).__name__}")
    params = {key: layer.params[name] for key, layer, name in model.named_parameters()}
    state: dict[str, dict[str, np.ndarray]] = {}
    for name, value in flat.items():
        if name == "steps":
            continue
        key, _, buf = str(name).rpartition(".")
        if key not in params or buf not in buffers:
            raise InvalidValueError(
                f"{where}: unexpected entry {name!r}; expected '<parameter>.<buffer>' with a "
                f"parameter of the model (e.g. {next(iter(params), '0.weight')!r}) and a buffer "
                f"in {list(buffers)}")
        value = np.asarray(value)
        if value.shape != params[key].shape or value.dtype.kind != "f":
            raise InvalidValueError(
                f"{where}: {name!r} is {value.dtype}{list(value.shape)}, expected a float array of "
                f"shape {list(params[key].shape)} like parameter {key!r}")
        state.setdefault(key, {})[buf] = value.astype(params[key].dtype, copy=True)
    for key, bufs in state.items():        # a parameter's state is all of its buffers or none
        if set(bufs) != set(buffers):
            missing = sorted(set(buffers) - set(bufs))
            raise InvalidValueError(f"{where}: parameter {key!r} has {sorted(bufs)} but not {missing}; "
                                    f"expected all of {list(buffers)}")
    steps = flat.get("steps", 0)
    count = np.ndim(steps) == 0 and np.asarray(steps).dtype.kind in "iuf"
    if not (count and float(steps).is_integer() and steps >= 0):
        raise InvalidValueError(f"{where}: 'steps' must be an integer >= 0, got {steps!r}")
    return state, int(steps)
