"""Rebuilding a model and its optimizer from a checkpoint's metadata and tensors, checked first.

Nothing is built or allocated for a size the file cannot back: the model config's layers and
parameter count are checked against the tensors held before any layer exists; the weights
come from the file (no initializer runs), and the optimizer's buffers must match the
parameters they belong to.
"""
from __future__ import annotations

import numpy as np

from ..errors import CheckpointError, InitlabError, InvalidValueError
from ..model import Sequential
from ..optim import build_optimizer
from ..run_state import set_layer_rng_states
from .file import FORMAT, FORMAT_VERSION, OPTIM_PREFIX, format_version, is_count, is_decimal, meta_json, short


def model_tensors(tensors: dict) -> dict:
    """The model's state among a file's tensors (all but the optimizer's "optim/..."), which
    `Sequential.load_state_dict(..., source=file)` checks, once."""
    return {name: value for name, value in tensors.items() if not name.startswith(OPTIM_PREFIX)}


def check_format(metadata: dict, where: str):
    if metadata.get("format") != FORMAT:
        raise CheckpointError(
            f"{where} is a safetensors file but not an initlab checkpoint (no '{FORMAT}' format "
            "in its metadata); load plain weights with checkpoint.load_weights(model, path)"
        )
    version = format_version(metadata)
    if version is None or version > FORMAT_VERSION:
        raise CheckpointError(
            f"{where}: format version {metadata.get('format_version', '')!r} is not supported "
            f"(expected <= {FORMAT_VERSION}); "
            "written by a newer initlab?"
        )


MAX_LAYERS = 10_000      # a 1,000-layer plain net has ~2,000; each layer costs ~1 KB to build


def _declared_size(entry) -> int:
    """The number of parameter and buffer values a layer's config entry declares (0 where its
    sizes are not counts: the layer's own check refuses those)."""
    if not isinstance(entry, dict):
        return 0
    kind, get = entry.get("type"), entry.get
    sizes = {"Conv2D": ("out_channels", "in_channels"), "Dense": ("out_features", "in_features"),
             "BatchNorm2D": ("num_features",)}.get(kind, ())
    values = [get(key) for key in sizes]
    if not values or not all(is_count(v) for v in values):
        return 0
    if kind == "BatchNorm2D":
        return 4 * values[0] + 1
    kernel = get("kernel_size", 1) if kind == "Conv2D" else 1
    kernel = [kernel, kernel] if is_count(kernel) else kernel
    if not (isinstance(kernel, list) and all(is_count(k) for k in kernel)):
        return 0
    groups = get("groups", 1) if kind == "Conv2D" else 1
    in_per_group = values[1] // groups if is_count(groups) and groups >= 1 else values[1]
    bias = values[0] if get("bias", True) is not False else 0
    return values[0] * in_per_group * int(np.prod(kernel, dtype=object)) + bias


def _checked_config(config, tensors: dict, where: str):
    """The model config with every layer's initializer dropped (the weights come from the file:
    zeros until loaded, nothing drawn), after checking that the layers it declares are at most
    MAX_LAYERS and their parameters fit in the tensors the file holds: nothing is allocated
    for a size the file cannot back."""
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        return config                       # Sequential.from_config names what is wrong
    layers = config["layers"]
    if len(layers) > MAX_LAYERS:
        raise CheckpointError(f"{where}: its model config declares {len(layers):,} layers, more than "
                              f"initlab builds from a checkpoint ({MAX_LAYERS:,}); corrupted file?")
    declared = sum(_declared_size(entry) for entry in layers)
    held = sum(int(value.size) for name, value in tensors.items() if not name.startswith(OPTIM_PREFIX))
    if declared > held:
        raise CheckpointError(f"{where}: its model config declares {declared:,} parameter values, the file "
                              f"holds {held:,}; corrupted file, or a config edited by hand?")
    strip = ("weight_init", "bias_init")
    return {**config, "layers": [{k: v for k, v in entry.items() if k not in strip}
                                 if isinstance(entry, dict) else entry for entry in layers]}


def rebuild_model(metadata: dict, tensors: dict, where: str) -> Sequential:
    config = _checked_config(meta_json(metadata, "model_config", where), tensors, where)
    try:
        model = Sequential.from_config(config)
    except (InitlabError, TypeError, ValueError, KeyError) as exc:
        raise CheckpointError(f"{where}: the model config cannot be rebuilt ({exc})") from None
    inits = meta_json(metadata, "init", where, default={})
    valid = isinstance(inits, dict) and all(
        is_decimal(index) and int(index) < len(model.layers) and isinstance(names, dict)
        and all(isinstance(v, str) for v in names.values())
        # a lazily sized Dense not yet built has init names but no params yet
        and set(names) <= set(model.layers[int(index)].params) | set(model.layers[int(index)].init_names)
        for index, names in inits.items())
    if not valid:
        raise CheckpointError(f"{where}: metadata 'init' is malformed: expected {{layer index: "
                              f"{{parameter name: initializer name}}}}, got {short(inits)}")
    for index, names in inits.items():
        model.layers[int(index)].init_names = dict(names)
    return model


def rebuild_optimizer(model, tensors: dict, metadata: dict, where: str):
    """The optimizer the metadata's "optimizer" entry describes, its buffers from the "optim/"
    tensors (None when none was saved)."""
    if "optimizer" not in metadata:
        stray = sorted(name for name in tensors if name.startswith(OPTIM_PREFIX))
        if stray:
            raise CheckpointError(f"{where} holds optimizer tensors ({short(stray)}) but no 'optimizer' "
                                  "metadata to rebuild the optimizer from; corrupted file?")
        return None
    info = meta_json(metadata, "optimizer", where)
    if (not isinstance(info, dict) or not isinstance(info.get("config"), dict)
            or not is_count(info.get("steps", 0))):
        raise CheckpointError(
            f"{where}: metadata 'optimizer' is malformed: expected {{\"config\": {{...}}, "
            f"\"steps\": integer >= 0}}, got {short(info)}"
        )
    try:
        optimizer = build_optimizer(model, info["config"])
    except (InitlabError, TypeError, ValueError, KeyError) as exc:
        raise CheckpointError(f"{where}: the optimizer config cannot be rebuilt ({exc})") from None
    _load_optimizer_state(optimizer, model, tensors, info.get("steps", 0), where)
    return optimizer


def restore_layer_rngs(model, metadata: dict, where: str):
    """Put every layer that owns an rng (Dropout) where the checkpoint's "layer_rngs" says."""
    rng_states = meta_json(metadata, "layer_rngs", where, default={})
    if not isinstance(rng_states, dict):
        raise CheckpointError(f"{where}: metadata 'layer_rngs' is malformed: expected "
                              f"{{layer index: rng state}}, got {short(rng_states)}")
    try:
        set_layer_rng_states(model, rng_states)
    except (InitlabError, TypeError, ValueError, KeyError) as exc:
        raise CheckpointError(f"{where}: the layers' rng states cannot be restored ({exc})") from None


def saved_state(metadata: dict, where: str) -> dict:
    """The keyword values given to `save` (epoch, step, history, ...)."""
    state = meta_json(metadata, "state", where, default={})
    if not isinstance(state, dict):
        raise CheckpointError(f"{where}: metadata 'state' is malformed: expected a JSON object "
                              f"of saved values, got {short(state)}")
    return state


def _load_optimizer_state(optimizer, model, tensors: dict, steps: int, where: str):
    """The optimizer's `load_state_dict` checks that each buffer belongs to a parameter, with
    its shape; a file adds one rule: a buffer is stored in its parameter's dtype (never cast)."""
    flat = {name[len(OPTIM_PREFIX):]: value for name, value in tensors.items() if name.startswith(OPTIM_PREFIX)}
    params = {key: layer.params[name] for key, layer, name in model.named_parameters()}
    for name, value in flat.items():
        param = params.get(name.rpartition(".")[0])
        if name == "steps" or (param is not None and value.dtype != param.dtype):
            expected = "no such tensor" if param is None else f"{param.dtype} like parameter '{name.rpartition('.')[0]}'"
            raise CheckpointError(f"{where}: optimizer tensor '{OPTIM_PREFIX}{name}' is "
                                  f"{value.dtype}{list(value.shape)}, expected {expected}")
    try:
        optimizer.load_state_dict({**flat, "steps": np.array(steps, dtype=np.int64)})
    except InvalidValueError as exc:
        raise CheckpointError(f"{where}: its optimizer tensors do not fit the model ({exc})") from None
