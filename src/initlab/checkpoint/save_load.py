"""Save a model (+ optimizer, + the caller's state) to one checkpoint file, and load it back."""
from __future__ import annotations

from pathlib import Path

from .. import __version__
from ..errors import InvalidValueError
from ..model import Sequential
from ..run_state import layer_rng_states
from . import rebuild
from .file import FORMAT, FORMAT_VERSION, METADATA_CHECKSUM, OPTIM_PREFIX, crc, json_text, metadata_checksum, read, write


def save(path, model, optimizer=None, /, **state) -> Path:
    """Write model (+ optimizer) and `state` (JSON-able keyword values) to `path` atomically.

    Returns the path. The file is a valid safetensors file readable by any safetensors tool.
    """
    if not isinstance(model, Sequential):
        raise InvalidValueError(f"checkpoint.save model: expected an initlab Sequential, got {type(model).__name__}")
    tensors = model.state_dict()
    metadata = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "initlab_version": __version__,
        "model_config": json_text(model.config(), "model config"),
        "init": json_text({str(i): layer.init_names for i, layer in enumerate(model.layers)}, "init names"),
        "layer_rngs": json_text(layer_rng_states(model), "layer rng states"),
        "state": json_text(state, "state"),
    }
    if optimizer is not None:
        flat = optimizer.state_dict()
        steps = int(flat.pop("steps", 0))
        for key, value in flat.items():
            tensors[OPTIM_PREFIX + key] = value
        metadata["optimizer"] = json_text({"config": optimizer.config(), "steps": steps}, "optimizer")
    for key in ("epoch", "step"):
        if key in state:
            metadata[key] = json_text(state[key], key)
    metadata["checksums"] = json_text({k: crc(v) for k, v in tensors.items()}, "checksums")
    metadata[METADATA_CHECKSUM] = metadata_checksum(metadata)
    return write(path, tensors, metadata)


def load_weights(model, path, strict=True):
    """Load the weights (and buffers) in `path` into `model`; everything is checked first, so
    on any error the model is left as it was. Works on any safetensors file with torch-style
    names; an initlab checkpoint's optimizer tensors ("optim/...") are ignored. Weights are
    widened to the model's dtype (float32 into a float64 model), never narrowed."""
    where = f"checkpoint {str(path)!r}"
    tensors, _ = read(path)
    model.load_state_dict(rebuild.model_tensors(tensors), strict, source=where)
    return model


def load(path, strict=True):
    """Rebuild (model, optimizer, state) from a checkpoint written by `save`.

    optimizer is None when none was saved; state is the dict of keyword values given to save.
    """
    where = f"checkpoint {str(path)!r}"
    tensors, metadata = read(path)
    rebuild.check_format(metadata, where)
    model = rebuild.rebuild_model(metadata, tensors, where)
    model.load_state_dict(rebuild.model_tensors(tensors), strict, source=where)
    optimizer = rebuild.rebuild_optimizer(model, tensors, metadata, where)
    rebuild.restore_layer_rngs(model, metadata, where)
    return model, optimizer, rebuild.saved_state(metadata, where)
