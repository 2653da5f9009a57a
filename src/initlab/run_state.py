"""The state of a training run, and what it takes to continue one bit-identically (floor 4).

`History` is what a run measured; `TrainState` is what `train.fit`'s callbacks see after each
step. `TrainState.resume_info()` captures, after any step, everything needed to continue
bit-identically (the data-order rng state at the start of the epoch, the position in the
epoch, the epoch's running sums, every layer's rng state, the history) as JSON-able data;
`check_resume_info` checks that layout and `restore` puts a new run where it says. The model
and optimizer are saved by `initlab.checkpoint` (with the layers' rng states,
`layer_rng_states`); a caller keeps this resume info in the checkpoint's state (`initlab
train` does, under "train").

This is the checkpoint family's serialization of a run, kept in its own module because
`train` needs it: importing the checkpoint package would load safetensors into the training
loop.
"""
from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass, field, fields

import numpy as np

from .errors import InvalidValueError

__all__ = ["History", "TrainState", "RESUME_VERSION", "layer_rng_states", "set_layer_rng_states",
           "check_resume_info", "restore"]

RESUME_VERSION = 1

# --------------------------------------------------------------------------- history

@dataclass
class History:
    """What a run measured. Per epoch (1-based `epoch` numbers): train loss/accuracy (the running
    means over the epoch's batches, in training mode), val loss/accuracy (eval mode; empty without
    validation data), wall seconds; per step: the batch loss. `step`: total optimizer steps."""

    epoch: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_acc: list = field(default_factory=list)
    batch_loss: list = field(default_factory=list)
    epoch_seconds: list = field(default_factory=list)
    step: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict:
        """Plain JSON-able data (floats round-trip exactly through JSON)."""
        return copy.deepcopy(asdict(self))

    @classmethod
    def from_dict(cls, data: dict) -> "History":
        if not isinstance(data, dict):
            raise InvalidValueError(f"History.from_dict: expected a dict, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidValueError(f"History.from_dict: unknown field(s) {unknown} (valid: {sorted(known)})")
        for name, value in data.items():
            if name == "step":
                ok = _is_count(value)
            elif name == "seconds":
                ok = _is_number(value)
            else:
                ok = isinstance(value, list) and all(_is_number(v) for v in value)
            if not ok:
                expected = {"step": "an integer >= 0", "seconds": "a number"}.get(name, "a list of numbers")
                raise InvalidValueError(f"History.from_dict: field {name!r}: expected {expected}, "
                                        f"got {_short(value)}")
        return cls(**copy.deepcopy(data))

    def deterministic(self) -> dict:
        """`to_dict()` without the wall-clock fields: equal for two runs with one seed."""
        out = self.to_dict()
        out.pop("epoch_seconds")
        out.pop("seconds")
        return out


def _is_count(value) -> bool:
    """An int >= 0 that is not a bool (JSON true would pass isinstance(value, int))."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)) and value >= 0


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _short(value, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


# --------------------------------------------------------------------------- state

@dataclass
class TrainState:
    """What callbacks see. `epoch` is the 0-based index of the running epoch, `batch` the number of
    its batches done, `step` the total steps done, `loss` the last batch loss, `grad_norm` the last
    global gradient norm (before clipping). Set `stop = True` to end training after this call."""

    model: object
    optimizer: object
    history: History
    epochs: int
    batches_per_epoch: int
    batch_size: int
    epoch: int = 0
    batch: int = 0
    step: int = 0
    loss: float = math.nan
    grad_norm: float = math.nan
    examples: int = 0            # examples seen in this call of fit (for throughput)
    stop: bool = False
    epoch_rng_state: dict | None = None
    epoch_sums: list = field(default_factory=lambda: [0.0, 0, 0])   # loss*n, correct, seen

    def resume_info(self) -> dict:
        """JSON-able data from which `fit(..., resume=...)` continues bit-identically
        (together with the model's and optimizer's own state, saved by initlab.checkpoint)."""
        return {
            "version": RESUME_VERSION,
            "epoch": self.epoch,
            "batch": self.batch,
            "step": self.step,
            "data_rng": _jsonable(self.epoch_rng_state),
            "layer_rngs": layer_rng_states(self.model),
            "epoch_sums": list(self.epoch_sums),
            "history": self.history.to_dict(),
        }


def _jsonable(value):
    """Bit-generator states hold big ints (fine for JSON) and, for MT19937, arrays (made lists)."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return {"__array__": value.tolist(), "dtype": value.dtype.name}
    if isinstance(value, np.integer):
        return int(value)
    return value


def _from_jsonable(value):
    if isinstance(value, dict):
        if "__array__" in value:
            return np.asarray(value["__array__"], dtype=value["dtype"])
        return {k: _from_jsonable(v) for k, v in value.items()}
    return value


def _set_generator_state(gen: np.random.Generator, state, who: str):
    try:
        state = _from_jsonable(state)
    except (TypeError, ValueError, KeyError) as exc:
        raise InvalidValueError(f"{who}: saved rng state is malformed ({exc})") from None
    kind = type(gen.bit_generator).__name__
    if not isinstance(state, dict) or state.get("bit_generator") != kind:
        found = state.get("bit_generator") if isinstance(state, dict) else type(state).__name__
        raise InvalidValueError(f"{who}: saved rng state is for {found!r}, the generator here is {kind!r}")
    try:
        gen.bit_generator.state = state
    except (TypeError, ValueError, KeyError, OverflowError) as exc:
        raise InvalidValueError(f"{who}: saved {kind} state is malformed ({type(exc).__name__}: {exc})") from None


def layer_rng_states(model) -> dict:
    """{layer index (str): bit-generator state} for every layer owning an `rng` (Dropout)."""
    return {str(i): _jsonable(layer.rng.bit_generator.state)
            for i, layer in enumerate(model.layers)
            if isinstance(getattr(layer, "rng", None), np.random.Generator)}


def set_layer_rng_states(model, states: dict):
    """Restore what `layer_rng_states` captured; the layers must be the same."""
    if not isinstance(states, dict):
        raise InvalidValueError(f"resume: expected the layers' rng states as {{layer index: state}}, "
                                f"got {_short(states)}")
    for key, state in states.items():
        if not (isinstance(key, str) and key.isdigit()):
            raise InvalidValueError(f"resume: saved rng state for layer {key!r}, expected a layer index")
        index = int(key)
        if index >= len(model.layers) or not isinstance(getattr(model.layers[index], "rng", None),
                                                         np.random.Generator):
            raise InvalidValueError(f"resume: saved rng state for layer {index}, which has no rng in this model")
        _set_generator_state(model.layers[index].rng, state, f"resume: layer {index} rng")


_RESUME_FIELDS = {
    "version": f"{RESUME_VERSION}", "epoch": "an integer >= 0", "batch": "an integer >= 0",
    "step": "an integer >= 0", "data_rng": "a bit-generator state or null",
    "layer_rngs": "{layer index: bit-generator state}", "epoch_sums": "[loss sum, correct, seen]",
    "history": "a History as a dict",
}


def _resume_field_ok(key, value) -> bool:
    if key == "version":
        return value == RESUME_VERSION and not isinstance(value, bool)
    if key in ("epoch", "batch", "step"):
        return _is_count(value)
    if key == "data_rng":
        return value is None or isinstance(value, dict)
    if key == "epoch_sums":
        return isinstance(value, list) and len(value) == 3 and all(_is_number(v) for v in value)
    return isinstance(value, dict)          # layer_rngs, history


def check_resume_info(resume) -> dict:
    """Check that `resume` has the layout of `TrainState.resume_info()` (every field present,
    of its type, the history well formed); InvalidValueError naming the first bad field."""
    expected = "the dict of TrainState.resume_info() (version " + str(RESUME_VERSION) + ")"
    if not isinstance(resume, dict):
        raise InvalidValueError(f"resume: expected {expected}, got {type(resume).__name__}")
    missing = [key for key in _RESUME_FIELDS if key not in resume]
    if missing:
        raise InvalidValueError(f"resume: expected {expected}; it lacks {', '.join(map(repr, missing))}")
    for key, what in _RESUME_FIELDS.items():
        if not _resume_field_ok(key, resume[key]):
            raise InvalidValueError(f"resume: field {key!r}: expected {what}, got {_short(resume[key])}")
    History.from_dict(resume["history"])
    return resume


def restore(state, resume, model, rng):
    """Put `state` and the rngs where `resume` (TrainState.resume_info()) says."""
    check_resume_info(resume)
    if resume["batch"] > state.batches_per_epoch:
        raise InvalidValueError(
            f"resume: saved at batch {resume['batch']} of an epoch, but an epoch here has "
            f"{state.batches_per_epoch} batches (another dataset or batch size?)"
        )
    state.history = History.from_dict(resume["history"])
    state.epoch, state.batch, state.step = int(resume["epoch"]), int(resume["batch"]), int(resume["step"])
    state.epoch_sums = list(resume["epoch_sums"])
    state.epoch_rng_state = _from_jsonable(resume["data_rng"])
    set_layer_rng_states(model, resume["layer_rngs"])
    if state.epoch_rng_state is not None:
        _set_generator_state(rng, state.epoch_rng_state, "resume: data-order rng")
