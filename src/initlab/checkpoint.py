"""Checkpoints: safetensors files that are safe to load and never half-written.

Floor 4; the only module that imports safetensors (its NumPy API: bytes in, bytes out).

A checkpoint is one `.safetensors` file:

* tensors: the model's state dict under its bare names ("0.weight", "3.running_mean", ...), so
  `safetensors.torch.load_file` + `load_state_dict` works on the equivalent torch.nn.Sequential;
  the optimizer's buffers under "optim/<param>.<buffer>" ("optim/0.weight.momentum_buffer");
* metadata (str -> str, values JSON): "format", "format_version", "initlab_version",
  "model_config", "init" (each layer's initializer names), "layer_rngs" (the bit-generator
  state of each layer with its own rng, e.g. Dropout), "optimizer" (config and step count),
  "checksums" (CRC-32 of each tensor's bytes),
  "state" (whatever the caller passed: epoch, step, rng states, history, CLI arguments),
  "metadata_crc32" (CRC-32 of all the other metadata; format version 3 on).

Writing is atomic: temp file in the target's folder, write, flush, fsync, rename over the
target, fsync the folder. Loading reads only a regular file (never a device or a FIFO), its
header first (at most 16 MiB of JSON, bounded in depth and size by `bounded.check_json`) and
the rest only once the header's tensors tile the file's real size; it checks every tensor's
name, shape and dtype and both kinds of checksum, and the model config's layers and parameter
count against the tensors held, before anything is built or changed. It never runs code from
the file (no pickle anywhere), nor an initializer (the weights come from the file).
"""
from __future__ import annotations

import json
import re
import struct
import zlib
from pathlib import Path

import numpy as np
import safetensors.numpy

from . import __version__, atomic, bounded
from .errors import CheckpointError, InitlabError, InvalidValueError
from .model import Sequential
from .optim import build_optimizer
from .train import layer_rng_states, set_layer_rng_states

__all__ = ["save", "load", "load_weights", "read", "atomic_write", "metadata_checksum",
           "CheckpointDir", "FORMAT", "FORMAT_VERSION", "OPTIM_PREFIX", "METADATA_CHECKSUM"]

FORMAT = "initlab-checkpoint"
# 2: model configs may give a layer its own dtype (None: its input's); 3: "metadata_crc32"
FORMAT_VERSION = 3
OPTIM_PREFIX = "optim/"
METADATA_CHECKSUM = "metadata_crc32"
# a 3,000-layer model's header is ~1 MB; safetensors itself allows 100 MB, whose JSON could
# parse into gigabytes of Python objects
_MAX_HEADER = 16 * 1024 * 1024
_DTYPES = {"F16": "float16", "F32": "float32", "F64": "float64", "I8": "int8", "U8": "uint8",
           "I16": "int16", "U16": "uint16", "I32": "int32", "U32": "uint32", "I64": "int64",
           "U64": "uint64", "BOOL": "bool"}


# --------------------------------------------------------------------------- writing

def atomic_write(path, data: bytes) -> Path:
    """Write `data` to `path` so that a crash at any moment leaves the old file or the new one.

    temp file in the same folder -> write -> flush -> fsync -> os.replace -> fsync the folder.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise CheckpointError(f"checkpoint path {str(path)!r}: folder {str(folder)!r} does not exist")
    if path.is_dir():
        raise CheckpointError(f"checkpoint path {str(path)!r} is a folder, expected a file path "
                              f"such as {str(path / 'model.safetensors')!r}")
    return atomic.write_bytes(path, data)


def _json(value, what: str) -> str:
    try:
        return json.dumps(value, allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise InvalidValueError(f"checkpoint {what}: expected JSON-able data ({exc})") from None


def _crc(array: np.ndarray) -> str:
    """CRC-32 of a tensor's bytes: catches bit rot in the data that the header cannot show."""
    return f"{zlib.crc32(_contiguous(array).reshape(-1).view(np.uint8)):08x}"


def metadata_checksum(metadata: dict) -> str:
    """CRC-32 of every metadata entry but METADATA_CHECKSUM itself, as JSON with sorted keys.

    The header is text, and one flipped bit in it can still parse into a valid but different
    checkpoint: another layer option, a renamed state key, an optimizer entry no longer found
    (measured: 91 of 2,000 random single-bit flips in a header loaded without it). A tool that
    edits the metadata on purpose must store this again under METADATA_CHECKSUM."""
    rest = {key: value for key, value in metadata.items() if key != METADATA_CHECKSUM}
    return f"{zlib.crc32(json.dumps(rest, sort_keys=True).encode('utf-8')):08x}"


def _contiguous(array) -> np.ndarray:
    """C-contiguous, keeping 0-d arrays 0-d (np.ascontiguousarray would make them 1-d)."""
    array = np.asarray(array)
    return array if array.flags.c_contiguous else array.copy(order="C")


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
        "model_config": _json(model.config(), "model config"),
        "init": _json({str(i): layer.init_names for i, layer in enumerate(model.layers)}, "init names"),
        "layer_rngs": _json(layer_rng_states(model), "layer rng states"),
        "state": _json(state, "state"),
    }
    if optimizer is not None:
        flat = optimizer.state_dict()
        steps = int(flat.pop("steps", 0))
        for key, value in flat.items():
            tensors[OPTIM_PREFIX + key] = value
        metadata["optimizer"] = _json({"config": optimizer.config(), "steps": steps}, "optimizer")
    for key in ("epoch", "step"):
        if key in state:
            metadata[key] = _json(state[key], key)
    tensors = {k: _contiguous(v) for k, v in tensors.items()}
    metadata["checksums"] = _json({k: _crc(v) for k, v in tensors.items()}, "checksums")
    metadata[METADATA_CHECKSUM] = metadata_checksum(metadata)
    return atomic_write(path, safetensors.numpy.save(tensors, metadata=metadata))


# --------------------------------------------------------------------------- reading

def _read_bytes(path, where: str) -> tuple[bytes, dict]:
    """The bytes of a regular file whose safetensors header (size, JSON, declared data size)
    is checked against the file's real size before the rest is read: the read is bounded by
    what the header declares, never by what a device or a FIFO would hand out."""
    handle, size = bounded.open_regular(path, where, CheckpointError, "a .safetensors file")
    with handle:
        if size < 8:
            raise CheckpointError(f"{where} is not a safetensors file: {size} byte(s), expected at least 8")
        (header_size,) = struct.unpack("<Q", bounded.read_exactly(handle, 8, where, CheckpointError))
        if header_size > size - 8:
            raise CheckpointError(
                f"{where} is not a safetensors file or is truncated: its first 8 bytes declare a "
                f"{header_size}-byte header, but the file has {size - 8} byte(s) after them")
        if header_size > _MAX_HEADER:
            raise CheckpointError(f"{where}: its first 8 bytes declare a {header_size:,}-byte header, more than "
                                  f"initlab reads ({_MAX_HEADER:,}); not a checkpoint initlab wrote?")
        text = bounded.read_exactly(handle, header_size, where, CheckpointError)
        header = _parse_header(text, size - 8 - header_size, where)
        handle.seek(0)
        return bounded.read_exactly(handle, size, where, CheckpointError), header


def _parse_header(text: bytes, data_size: int, where: str) -> dict:
    """Check the safetensors header: bounded JSON, an object, tensors tiling the data exactly."""
    bounded.check_json(text, f"{where}: the safetensors header", CheckpointError)
    try:
        header = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{where}: the safetensors header is not valid JSON ({exc}); corrupted file?") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{where}: the safetensors header is not a JSON object; corrupted file?")
    end = 0
    for name, entry in header.items():
        if name != "__metadata__":
            end = max(end, _entry_end(name, entry, where))
    if end > data_size:
        raise CheckpointError(
            f"{where} is truncated: its header needs {end} data bytes, the file holds {data_size}"
        )
    if end < data_size:
        raise CheckpointError(
            f"{where} is corrupted: {data_size - end} byte(s) follow its last tensor "
            f"(its header accounts for {end} data bytes); something was appended to it?"
        )
    return header


def _is_decimal(text) -> bool:
    """A string of ASCII digits ('²'.isdigit() is true too, and int() refuses it)."""
    return isinstance(text, str) and re.fullmatch(r"[0-9]+", text) is not None


def _is_count(value) -> bool:
    """A JSON integer >= 0 (bool is not one, although Python says it is an int)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _entry_end(name: str, entry, where: str) -> int:
    """The end offset of one tensor's bytes, after checking its header entry is
    {"dtype": one of _DTYPES, "shape": [ints >= 0], "data_offsets": [begin, end], begin <= end}."""
    expected = ('{"dtype": one of ' + ", ".join(_DTYPES) + ', "shape": [integers >= 0], '
                '"data_offsets": [begin, end] (integers, 0 <= begin <= end)}')
    offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
    well_formed = (
        isinstance(entry, dict) and isinstance(entry.get("dtype"), str) and entry["dtype"] in _DTYPES
        and isinstance(entry.get("shape"), list) and all(_is_count(d) for d in entry["shape"])
        and isinstance(offsets, list) and len(offsets) == 2 and all(_is_count(o) for o in offsets)
        and offsets[0] <= offsets[1]
    )
    if not well_formed:
        raise CheckpointError(f"{where}: malformed header entry for tensor '{name}': expected "
                              f"{expected}, got {entry!r}")
    return offsets[1]


def read(path) -> tuple[dict, dict]:
    """(tensors, metadata) of a safetensors file, after checking it is complete and well formed."""
    where = f"checkpoint {str(path)!r}"
    raw, header = _read_bytes(path, where)
    try:
        tensors = safetensors.numpy.load(raw)
    except Exception as exc:  # the Rust parser's SafetensorError and friends
        raise CheckpointError(f"{where} is corrupted: {exc}") from None
    metadata = header.get("__metadata__") or {}
    if not isinstance(metadata, dict):
        raise CheckpointError(f"{where}: the header's metadata is not a JSON object")
    _verify_metadata_checksum(metadata, where)
    _verify_checksums(tensors, metadata, where)
    return tensors, metadata


def _format_version(metadata: dict):
    """The format version of an initlab checkpoint's metadata as an int; None for other files
    or an unreadable version."""
    version = metadata.get("format_version")
    if metadata.get("format") != FORMAT or not _is_decimal(version):
        return None
    return int(version)


def _verify_metadata_checksum(metadata: dict, where: str):
    """Checked whenever present; required from format version 3 on, so that a flip in the
    checksum's own key cannot pass as an older file."""
    if METADATA_CHECKSUM not in metadata:
        if (_format_version(metadata) or 0) >= 3:
            raise CheckpointError(f"{where}: a format-version-{metadata['format_version']} checkpoint "
                                  f"carries a '{METADATA_CHECKSUM}' entry and this one lacks it; corrupted file?")
        return
    expected, found = metadata[METADATA_CHECKSUM], metadata_checksum(metadata)
    if expected != found:
        raise CheckpointError(f"{where} is corrupted: its metadata (model config, optimizer, "
                              f"state) fails its CRC-32 check (expected {str(expected)[:80]}, found {found})")


def _verify_checksums(tensors: dict, metadata: dict, where: str):
    """Files written by initlab carry a CRC-32 per tensor; other safetensors files do not."""
    if "checksums" not in metadata:
        return
    sums = _meta_json(metadata, "checksums", where)
    if not isinstance(sums, dict) or set(sums) != set(tensors):
        raise CheckpointError(f"{where}: the checksum table does not list exactly the file's tensors; corrupted file?")
    for name, value in tensors.items():
        if _crc(value) != sums[name]:
            raise CheckpointError(f"{where} is corrupted: tensor '{name}' fails its CRC-32 check "
                                  f"(expected {sums[name]}, found {_crc(value)})")


def _check_tensors(model, tensors: dict, where: str, strict: bool):
    """Every expected tensor present with its shape and a dtype that casts to the model's
    without loss; no others when strict."""
    expected = model.expected_state()
    model_keys = {k: v for k, v in tensors.items() if not k.startswith(OPTIM_PREFIX)}
    missing = [k for k in expected if k not in model_keys]
    if missing:
        raise CheckpointError(
            f"{where} lacks tensor(s) {', '.join(repr(k) for k in missing)} that the model expects "
            f"(found {sorted(model_keys)}); is it from another architecture?"
        )
    for key, (shape, dtype) in expected.items():
        found = model_keys[key]
        if tuple(found.shape) != tuple(shape):
            raise CheckpointError(
                f"{where}: tensor '{key}' has shape {tuple(found.shape)}, the model expects "
                f"{tuple(shape)}; is it from another architecture?"
            )
        # float32 into float64 is fine; integers or booleans into float weights are not weights
        if found.dtype.kind != np.dtype(dtype).kind or not np.can_cast(found.dtype, dtype, casting="safe"):
            raise CheckpointError(f"{where}: tensor '{key}' has dtype {found.dtype}, the model expects "
                                  f"{np.dtype(dtype)} (a lossy cast; build the model with that dtype)")
    unexpected = sorted(set(model_keys) - set(expected))
    if strict and unexpected:
        raise CheckpointError(
            f"{where} has unexpected tensor(s) {', '.join(repr(k) for k in unexpected)}; "
            "pass strict=False to ignore them"
        )
    return {k: model_keys[k] for k in expected}


def load_weights(model, path, strict=True):
    """Load the weights (and buffers) in `path` into `model`; everything is checked first, so
    on any error the model is left as it was. Works on any safetensors file with torch-style
    names; an initlab checkpoint's optimizer tensors ("optim/...") are ignored. Weights are
    widened to the model's dtype (float32 into a float64 model), never narrowed."""
    where = f"checkpoint {str(path)!r}"
    tensors, _ = read(path)
    model.load_state_dict(_check_tensors(model, tensors, where, strict), strict=True)
    return model


def _meta_json(metadata: dict, key: str, where: str, default=None):
    if key not in metadata:
        if default is not None:
            return default
        raise CheckpointError(f"{where}: metadata lacks '{key}'")
    bounded.check_json(metadata[key], f"{where}: metadata '{key}'", CheckpointError)
    try:
        return json.loads(metadata[key])
    except (TypeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{where}: metadata '{key}' is not valid JSON ({exc})") from None


def _short(value, limit: int = 80) -> str:
    """repr(value), cut to `limit` characters for an error message."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _check_format(metadata: dict, where: str):
    if metadata.get("format") != FORMAT:
        raise CheckpointError(
            f"{where} is a safetensors file but not an initlab checkpoint (no '{FORMAT}' format "
            "in its metadata); load plain weights with checkpoint.load_weights(model, path)"
        )
    version = _format_version(metadata)
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
    if not values or not all(_is_count(v) for v in values):
        return 0
    if kind == "BatchNorm2D":
        return 4 * values[0] + 1
    kernel = get("kernel_size", 1) if kind == "Conv2D" else 1
    kernel = [kernel, kernel] if _is_count(kernel) else kernel
    if not (isinstance(kernel, list) and all(_is_count(k) for k in kernel)):
        return 0
    groups = get("groups", 1) if kind == "Conv2D" else 1
    in_per_group = values[1] // groups if _is_count(groups) and groups >= 1 else values[1]
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


def _build_model(metadata: dict, tensors: dict, where: str) -> Sequential:
    config = _checked_config(_meta_json(metadata, "model_config", where), tensors, where)
    try:
        model = Sequential.from_config(config)
    except (InitlabError, TypeError, ValueError, KeyError) as exc:
        raise CheckpointError(f"{where}: the model config cannot be rebuilt ({exc})") from None
    inits = _meta_json(metadata, "init", where, default={})
    valid = isinstance(inits, dict) and all(
        _is_decimal(index) and int(index) < len(model.layers) and isinstance(names, dict)
        and all(isinstance(v, str) for v in names.values())
        # a lazily sized Dense not yet built has init names but no params yet
        and set(names) <= set(model.layers[int(index)].params) | set(model.layers[int(index)].init_names)
        for index, names in inits.items())
    if not valid:
        raise CheckpointError(f"{where}: metadata 'init' is malformed: expected {{layer index: "
                              f"{{parameter name: initializer name}}}}, got {_short(inits)}")
    for index, names in inits.items():
        model.layers[int(index)].init_names = dict(names)
    return model


def _build_optimizer(model, tensors: dict, metadata: dict, where: str):
    if "optimizer" not in metadata:
        stray = sorted(name for name in tensors if name.startswith(OPTIM_PREFIX))
        if stray:
            raise CheckpointError(f"{where} holds optimizer tensors ({_short(stray)}) but no 'optimizer' "
                                  "metadata to rebuild the optimizer from; corrupted file?")
        return None
    info = _meta_json(metadata, "optimizer", where)
    if (not isinstance(info, dict) or not isinstance(info.get("config"), dict)
            or not _is_count(info.get("steps", 0))):
        raise CheckpointError(
            f"{where}: metadata 'optimizer' is malformed: expected {{\"config\": {{...}}, "
            f"\"steps\": integer >= 0}}, got {_short(info)}"
        )
    try:
        optimizer = build_optimizer(model, info["config"])
    except (InitlabError, TypeError, ValueError, KeyError) as exc:
        raise CheckpointError(f"{where}: the optimizer config cannot be rebuilt ({exc})") from None
    params = {key: layer.params[name] for key, layer, name in model.named_parameters()}
    flat = {}
    for name, value in tensors.items():
        if not name.startswith(OPTIM_PREFIX):
            continue
        key = name[len(OPTIM_PREFIX):].rsplit(".", 1)[0]
        if key not in params:
            raise CheckpointError(f"{where}: optimizer tensor '{name}' belongs to no parameter of the model")
        if value.shape != params[key].shape or value.dtype != params[key].dtype:
            raise CheckpointError(
                f"{where}: optimizer tensor '{name}' is {value.dtype}{list(value.shape)}, expected "
                f"{params[key].dtype}{list(params[key].shape)} like parameter '{key}'"
            )
        flat[name[len(OPTIM_PREFIX):]] = value
    flat["steps"] = np.array(info.get("steps", 0), dtype=np.int64)
    optimizer.load_state_dict(flat)
    return optimizer


def load(path, strict=True):
    """Rebuild (model, optimizer, state) from a checkpoint written by `save`.

    optimizer is None when none was saved; state is the dict of keyword values given to save.
    """
    where = f"checkpoint {str(path)!r}"
    tensors, metadata = read(path)
    _check_format(metadata, where)
    model = _build_model(metadata, tensors, where)
    model.load_state_dict(_check_tensors(model, tensors, where, strict), strict=True)
    optimizer = _build_optimizer(model, tensors, metadata, where)
    rng_states = _meta_json(metadata, "layer_rngs", where, default={})
    if not isinstance(rng_states, dict):
        raise CheckpointError(f"{where}: metadata 'layer_rngs' is malformed: expected "
                              f"{{layer index: rng state}}, got {_short(rng_states)}")
    try:
        set_layer_rng_states(model, rng_states)
    except (InitlabError, TypeError, ValueError, KeyError) as exc:
        raise CheckpointError(f"{where}: the layers' rng states cannot be restored ({exc})") from None
    state = _meta_json(metadata, "state", where, default={})
    if not isinstance(state, dict):
        raise CheckpointError(f"{where}: metadata 'state' is malformed: expected a JSON object "
                              f"of saved values, got {_short(state)}")
    return model, optimizer, state


# --------------------------------------------------------------------------- a run's folder

class CheckpointDir:
    """A folder of step checkpoints "step-<8 digits>.safetensors" (the last `keep` are kept)
    and "best.safetensors" (the highest validation accuracy so far).

    One folder holds one run: the step numbers of two runs would interleave, so that pruning
    and `latest()` would mix them. `holds_checkpoints()` lets a caller refuse a used folder and
    `clear()` empties it for a fresh run."""

    PATTERN = re.compile(r"step-(\d{8,})\.safetensors")
    BEST = "best.safetensors"

    def __init__(self, folder, keep: int | None = None):
        self.folder = Path(folder)
        if keep is not None and (not isinstance(keep, int) or keep < 1):
            raise InvalidValueError(f"keep: expected an integer >= 1 (or None for all), got {keep!r}")
        self.keep = keep

    def steps(self) -> list[tuple[int, Path]]:
        """(step, path) of every step checkpoint, oldest first."""
        if not self.folder.is_dir():
            return []
        found = [(int(m[1]), p) for p in self.folder.iterdir() if (m := self.PATTERN.fullmatch(p.name))]
        return sorted(found)

    def checkpoints(self) -> list[Path]:
        """Every checkpoint this folder holds: the step checkpoints, then best (if any)."""
        best = self.folder / self.BEST
        return [p for _, p in self.steps()] + ([best] if best.is_file() else [])

    def holds_checkpoints(self) -> bool:
        return bool(self.checkpoints())

    def clear(self) -> list[Path]:
        """Delete the step checkpoints and best (nothing else in the folder); returns them."""
        found = self.checkpoints()
        for path in found:
            path.unlink(missing_ok=True)
        return found

    def latest(self) -> Path:
        """The newest step checkpoint; CheckpointError if there is none."""
        found = self.steps()
        if not found:
            if self.folder.is_file():
                what = ("is a file, expected the folder that holds the step-*.safetensors "
                        f"checkpoints (here {str(self.folder.parent)!r}?)")
            elif not self.folder.exists():
                what = "does not exist"
            else:
                what = "holds no step-*.safetensors checkpoint"
            raise CheckpointError(f"checkpoint folder {str(self.folder)!r} {what}")
        return found[-1][1]

    def save(self, step: int, model, optimizer=None, /, **state) -> Path:
        """Write the checkpoint of `step`, then drop the oldest beyond `keep`; the checkpoint
        just written is always kept, even if the folder holds higher-numbered ones."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = save(self.folder / f"step-{step:08d}.safetensors", model, optimizer, **state)
        if self.keep is not None:
            others = [old for _, old in self.steps() if old != path]
            for old in others[:max(len(others) - (self.keep - 1), 0)]:
                old.unlink(missing_ok=True)
        return path

    def save_best(self, model, optimizer=None, /, **state) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        return save(self.folder / self.BEST, model, optimizer, **state)
