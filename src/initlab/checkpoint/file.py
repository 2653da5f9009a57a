"""The safetensors file of a checkpoint: written atomically, read only after its header is checked.

A safetensors file is an 8-byte little-endian header size, a JSON header ({tensor name:
{"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}), then the
tensors' bytes, little-endian, in the order of their offsets. Writing goes through
safetensors' own NumPy API. Reading parses the header once, here, bounded (at most 16 MiB of
JSON, bounded in depth and size by `bounded.check_json`), checks that its tensors tile the
data exactly (each entry's bytes are its shape times its dtype's size, one after another, up
to the file's real size), and only then reads the rest and views each tensor in it.
"""
from __future__ import annotations

import json
import re
import struct
import zlib
from pathlib import Path

import numpy as np
import safetensors.numpy

from .. import atomic, bounded
from ..errors import CheckpointError, InvalidValueError

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


def json_text(value, what: str) -> str:
    try:
        return json.dumps(value, allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise InvalidValueError(f"checkpoint {what}: expected JSON-able data ({exc})") from None


def crc(array: np.ndarray) -> str:
    """CRC-32 of a tensor's bytes: catches bit rot in the data that the header cannot show."""
    return f"{zlib.crc32(contiguous(array).reshape(-1).view(np.uint8)):08x}"


def metadata_checksum(metadata: dict) -> str:
    """CRC-32 of every metadata entry but METADATA_CHECKSUM itself, as JSON with sorted keys.

    The header is text, and one flipped bit in it can still parse into a valid but different
    checkpoint: another layer option, a renamed state key, an optimizer entry no longer found
    (measured: 91 of 2,000 random single-bit flips in a header loaded without it). A tool that
    edits the metadata on purpose must store this again under METADATA_CHECKSUM."""
    rest = {key: value for key, value in metadata.items() if key != METADATA_CHECKSUM}
    return f"{zlib.crc32(json.dumps(rest, sort_keys=True).encode('utf-8')):08x}"


def contiguous(array) -> np.ndarray:
    """C-contiguous, keeping 0-d arrays 0-d (np.ascontiguousarray would make them 1-d)."""
    array = np.asarray(array)
    return array if array.flags.c_contiguous else array.copy(order="C")


def write(path, tensors: dict, metadata: dict) -> Path:
    """Write `tensors` (name -> array) and `metadata` (str -> str) as one safetensors file, atomically."""
    tensors = {name: contiguous(value) for name, value in tensors.items()}
    return atomic_write(path, safetensors.numpy.save(tensors, metadata=metadata))


# --------------------------------------------------------------------------- reading

def _read_bytes(path, where: str) -> tuple[bytes, int, dict]:
    """(the file's bytes, where its data starts, its checked header), for a regular file whose
    header (size, JSON, declared data size) is checked against the file's real size before the
    rest is read: the read is bounded by what the header declares, never by what a device or a
    FIFO would hand out."""
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
        return bounded.read_exactly(handle, size, where, CheckpointError), 8 + header_size, header


def _parse_header(text: bytes, data_size: int, where: str) -> dict:
    """Check the safetensors header: bounded JSON, an object, tensors tiling the data exactly."""
    bounded.check_json(text, f"{where}: the safetensors header", CheckpointError)
    try:
        header = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{where}: the safetensors header is not valid JSON ({exc}); corrupted file?") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{where}: the safetensors header is not a JSON object; corrupted file?")
    entries = {name: _entry(name, entry, where) for name, entry in header.items() if name != "__metadata__"}
    end = max((offsets[1] for offsets, _, _ in entries.values()), default=0)
    if end > data_size:
        raise CheckpointError(
            f"{where} is truncated: its header needs {end} data bytes, the file holds {data_size}"
        )
    if end < data_size:
        raise CheckpointError(
            f"{where} is corrupted: {data_size - end} byte(s) follow its last tensor "
            f"(its header accounts for {end} data bytes); something was appended to it?"
        )
    _check_tiling(entries, where)
    return header


def _check_tiling(entries: dict, where: str):
    """Each tensor's bytes are exactly its shape times its dtype's size, and the tensors follow
    one another with no gap and no overlap (as safetensors requires)."""
    position = 0
    for name, ((begin, end), dtype, shape) in sorted(entries.items(), key=lambda item: item[1][0]):
        needed = int(np.prod(shape, dtype=object)) * dtype.itemsize
        if end - begin != needed:
            raise CheckpointError(f"{where} is corrupted: tensor '{name}' is {dtype.name}{list(shape)} "
                                  f"({needed} bytes), but its data_offsets span {end - begin} bytes")
        if begin != position:
            raise CheckpointError(f"{where} is corrupted: tensor '{name}' starts at data byte {begin}, expected "
                                  f"{position} (the tensors follow one another with no gap or overlap)")
        position = end


def _tensors(raw: bytes, start: int, header: dict) -> dict:
    """Every tensor the (checked) header lists, copied out of the file's bytes in native byte order."""
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        dtype = np.dtype(_DTYPES[entry["dtype"]]).newbyteorder("<")
        begin, end = entry["data_offsets"]
        flat = np.frombuffer(raw, dtype=dtype, count=(end - begin) // dtype.itemsize, offset=start + begin)
        tensors[name] = flat.astype(dtype.newbyteorder("="), copy=True).reshape(entry["shape"])
    return tensors


def is_decimal(text) -> bool:
    """A string of ASCII digits ('²'.isdigit() is true too, and int() refuses it)."""
    return isinstance(text, str) and re.fullmatch(r"[0-9]+", text) is not None


def is_count(value) -> bool:
    """A JSON integer >= 0 (bool is not one, although Python says it is an int)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _entry(name: str, entry, where: str) -> tuple[list, np.dtype, list]:
    """(data_offsets, dtype, shape) of one tensor, after checking its header entry is
    {"dtype": one of _DTYPES, "shape": [ints >= 0], "data_offsets": [begin, end], begin <= end}."""
    expected = ('{"dtype": one of ' + ", ".join(_DTYPES) + ', "shape": [integers >= 0], '
                '"data_offsets": [begin, end] (integers, 0 <= begin <= end)}')
    offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
    well_formed = (
        isinstance(entry, dict) and isinstance(entry.get("dtype"), str) and entry["dtype"] in _DTYPES
        and isinstance(entry.get("shape"), list) and all(is_count(d) for d in entry["shape"])
        and isinstance(offsets, list) and len(offsets) == 2 and all(is_count(o) for o in offsets)
        and offsets[0] <= offsets[1]
    )
    if not well_formed:
        raise CheckpointError(f"{where}: malformed header entry for tensor '{name}': expected "
                              f"{expected}, got {entry!r}")
    return offsets, np.dtype(_DTYPES[entry["dtype"]]), entry["shape"]


def read(path) -> tuple[dict, dict]:
    """(tensors, metadata) of a safetensors file, after checking it is complete and well formed."""
    where = f"checkpoint {str(path)!r}"
    raw, start, header = _read_bytes(path, where)
    metadata = header.get("__metadata__") or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise CheckpointError(f"{where}: the header's metadata is not a JSON object of strings "
                              f"(name -> text); corrupted file?")
    tensors = _tensors(raw, start, header)
    _verify_metadata_checksum(metadata, where)
    _verify_checksums(tensors, metadata, where)
    return tensors, metadata


def format_version(metadata: dict):
    """The format version of an initlab checkpoint's metadata as an int; None for other files
    or an unreadable version."""
    version = metadata.get("format_version")
    if metadata.get("format") != FORMAT or not is_decimal(version):
        return None
    return int(version)


def _verify_metadata_checksum(metadata: dict, where: str):
    """Checked whenever present; required from format version 3 on, so that a flip in the
    checksum's own key cannot pass as an older file."""
    if METADATA_CHECKSUM not in metadata:
        if (format_version(metadata) or 0) >= 3:
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
    sums = meta_json(metadata, "checksums", where)
    if not isinstance(sums, dict) or set(sums) != set(tensors):
        raise CheckpointError(f"{where}: the checksum table does not list exactly the file's tensors; corrupted file?")
    for name, value in tensors.items():
        if crc(value) != sums[name]:
            raise CheckpointError(f"{where} is corrupted: tensor '{name}' fails its CRC-32 check "
                                  f"(expected {sums[name]}, found {crc(value)})")


def meta_json(metadata: dict, key: str, where: str, default=None):
    """The JSON value of metadata entry `key` (bounded like the header); `default` if absent, when given."""
    if key not in metadata:
        if default is not None:
            return default
        raise CheckpointError(f"{where}: metadata lacks '{key}'")
    bounded.check_json(metadata[key], f"{where}: metadata '{key}'", CheckpointError)
    try:
        return json.loads(metadata[key])
    except (TypeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{where}: metadata '{key}' is not valid JSON ({exc})") from None


def short(value, limit: int = 80) -> str:
    """repr(value), cut to `limit` characters for an error message."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


