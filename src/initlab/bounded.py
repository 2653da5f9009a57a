"""Reading files and text that may be hostile, with bounds known before anything is allocated.

Floor 0 (NumPy and the standard library). Three rules, for every file initlab reads:

* only a regular file (a symlink is followed; a device such as /dev/zero, a FIFO, a socket or
  a folder is refused by name, and a FIFO is never waited on: it is opened non-blocking);
* never more bytes than the file's header declares, checked against the file's real size (or,
  for gzip, decompression stops one byte past the declared size);
* JSON is scanned for its nesting depth and its number of containers and values before it is
  parsed, so that neither a 100,000-deep nesting (a RecursionError) nor millions of tiny
  objects (gigabytes of Python dicts) get that far.

Every function takes `error`, the initlab error class to raise (DataError, CheckpointError),
and `what`, how to name the file or text in the message ("checkpoint 'run/step-1.safetensors'").
"""
from __future__ import annotations

import os
import stat
import zlib

import numpy as np

__all__ = ["open_regular", "read_exactly", "GzipReader", "check_json",
           "MAX_JSON_DEPTH", "MAX_JSON_CONTAINERS", "MAX_JSON_VALUES"]

MAX_JSON_DEPTH = 64              # initlab's own JSON nests 5 deep
MAX_JSON_CONTAINERS = 100_000    # objects + arrays: a 3,000-layer model's config holds ~6,000
MAX_JSON_VALUES = 2_000_000      # ~ commas: a history of 100,000 epochs holds ~600,000

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"))


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def open_regular(path, what: str, error, expected: str = "a regular file"):
    """(binary file object, size in bytes) of the regular file at `path`, symlinks followed.

    Opened with O_NONBLOCK and checked with fstat on the open descriptor (no race between the
    check and the open): a FIFO neither blocks the open nor gets read."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise error(f"{what} does not exist") from None
    except IsADirectoryError:
        raise error(f"{what} is a folder, expected {expected}") from None
    except OSError as exc:
        raise error(f"{what} cannot be read: {exc.strerror or exc}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        if stat.S_ISDIR(info.st_mode):
            raise error(f"{what} is a folder, expected {expected}")
        target = os.path.realpath(path)
        via = f" (a link to {target!r})" if target != os.path.abspath(path) else ""
        raise error(f"{what} is {_kind(info.st_mode)}{via}, expected {expected}")
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    return os.fdopen(fd, "rb"), info.st_size


def read_exactly(handle, count: int, what: str, error) -> bytes:
    """`count` bytes from `handle`; fewer (the file shrank while read) is an error."""
    data = handle.read(count)
    if len(data) != count:
        raise error(f"{what} is truncated: expected {count} more byte(s), found {len(data)}")
    return data


class GzipReader:
    """Decompress a gzip stream on demand, never past what the caller asks for.

    `read(n)` returns at most n bytes (fewer only at the end of the stream); `at_end()` says
    whether the stream holds nothing more, by decompressing at most one more byte. Members
    written one after another (as `cat a.gz b.gz`) read as one stream, as gzip reads them.
    Memory is the caller's n plus one compressed chunk, whatever the expansion ratio."""

    CHUNK = 1 << 16

    def __init__(self, handle, what: str, error):
        self._handle, self._what, self._error = handle, what, error
        self._inflate = zlib.decompressobj(wbits=31)      # 31: a gzip header and trailer
        self._pending = b""                               # compressed bytes not yet inflated

    def _damaged(self, exc) -> Exception:
        return self._error(f"{self._what} is a damaged gzip file: {exc}")

    def _more(self) -> bool:
        """Compressed bytes to inflate next (a new member after one that ended); False at the end."""
        if self._inflate.eof:
            self._pending = self._inflate.unused_data or self._handle.read(self.CHUNK)
            if not self._pending:
                return False
            self._inflate = zlib.decompressobj(wbits=31)
        elif not self._pending:
            self._pending = self._handle.read(self.CHUNK)
            if not self._pending:
                raise self._damaged("the compressed stream ends early")
        return True

    def read(self, count: int) -> bytes:
        parts, left = [], count
        while left > 0 and self._more():
            try:
                out = self._inflate.decompress(self._pending, left)
            except zlib.error as exc:
                raise self._damaged(exc) from None
            self._pending = self._inflate.unconsumed_tail
            parts.append(out)
            left -= len(out)
        return b"".join(parts)

    def at_end(self) -> bool:
        return not self.read(1)


_CHUNK = 1 << 20


def _json_counts(raw: bytes) -> tuple[int, int, int]:
    """(deepest nesting, objects + arrays, commas) outside strings, in 1 MiB chunks.

    Escapes are dropped first (an escaped backslash, then an escaped quote), so that every
    quote left opens or closes a string; a bracket is outside strings where the number of
    quotes before it is even."""
    text = np.frombuffer(raw.replace(b"\\\\", b"").replace(b'\\"', b""), dtype=np.uint8)
    inside, depth, deepest, containers, commas = 0, 0, 0, 0, 0
    for start in range(0, text.size, _CHUNK):
        part = text[start:start + _CHUNK]
        quotes = np.cumsum(part == ord('"'), dtype=np.uint8)     # wraps at 256: parity survives
        outside = ((quotes + inside) & 1) == 0
        opens = outside & ((part == ord("[")) | (part == ord("{")))
        closes = outside & ((part == ord("]")) | (part == ord("}")))
        containers += int(np.count_nonzero(opens))
        commas += int(np.count_nonzero(outside & (part == ord(","))))
        levels = depth + np.cumsum(opens[opens | closes].astype(np.int64) * 2 - 1)
        if levels.size:
            deepest, depth = max(deepest, int(levels.max())), int(levels[-1])
        inside = (inside + int(quotes[-1])) & 1
    return deepest, containers, commas


def check_json(text, what: str, error, *, max_depth: int = MAX_JSON_DEPTH,
               max_containers: int = MAX_JSON_CONTAINERS, max_values: int = MAX_JSON_VALUES):
    """Refuse JSON text (str or bytes) that nests deeper than `max_depth` or holds more than
    `max_containers` objects/arrays or about `max_values` values (counted as commas), before
    json.loads spends a RecursionError or gigabytes of Python objects on it.

    Linear time; memory a few chunks. Text of another type is left to json.loads to refuse."""
    if isinstance(text, str):
        raw = text.encode("utf-8", "surrogatepass")
    elif isinstance(text, (bytes, bytearray)):
        raw = bytes(text)
    else:
        return
    if raw.count(b"[") + raw.count(b"{") <= min(max_depth, max_containers) and raw.count(b",") < max_values:
        return                       # too few brackets to break any bound, wherever they are
    depth, containers, commas = _json_counts(raw)
    values = containers + commas
    if depth > max_depth:
        raise error(f"{what}: JSON nested {depth} levels deep, more than initlab reads (at most "
                    f"{max_depth}); not a file initlab wrote?")
    if containers > max_containers or values > max_values:
        raise error(f"{what} holds {containers:,} JSON objects/arrays and ~{values:,} values, more than "
                    f"initlab reads (at most {max_containers:,} and {max_values:,}); not a file initlab wrote?")
