"""IDX files (the MNIST format), raw or gzipped, read without trusting their headers.

Only regular files are read, and never past what the header's dims declare.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from .. import bounded
from ..errors import DataError, InvalidValueError

# IDX type byte -> big-endian NumPy dtype.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


MAX_EXAMPLES = 10_000_000     # per IDX file: 14x EMNIST's largest; a larger count is a hostile header


class IdxFile:
    """An open IDX file (raw or gzipped) whose header is read and checked: `dims`, `dtype`.

    Nothing past the header is read until `read`, which reads exactly the bytes the dims
    declare (a raw file's size is checked first; a gzip stream is decompressed to one byte past
    the declared size, never to its end): a 1 MB gzip that expands to gigabytes costs what its
    header declares, and a header declaring too much is refused before reading."""

    def __init__(self, path: Path):
        self.path, self.where = path, f"IDX file {str(path)!r}"
        if path.is_dir():
            raise DataError(f"{self.where} cannot be read: [Errno 21] Is a directory")
        handle, size = bounded.open_regular(path, self.where, DataError)
        self._handle = handle
        try:
            self._gzip = handle.read(2) == _GZIP_MAGIC
            handle.seek(0)
            self._stream = bounded.GzipReader(handle, self.where, DataError) if self._gzip else handle
            self._read_header(size)
        except BaseException:
            handle.close()
            raise

    def _read_header(self, size: int):
        where, magic = self.where, self._stream.read(4)
        if len(magic) < 4:
            raise DataError(f"{where}: expected a 4-byte magic number, found only {len(magic)} byte(s)")
        zero0, zero1, code, ndim = magic
        if zero0 != 0 or zero1 != 0 or code not in _IDX_DTYPES:
            codes = ", ".join(f"0x{c:02X}" for c in _IDX_DTYPES)
            raise DataError(f"{where}: bad magic number {magic.hex()} (expected 00 00 <type> <ndim> with "
                            f"type one of {codes}); is this an IDX/MNIST file?")
        if ndim == 0:
            raise DataError(f"{where}: the magic number declares 0 dimensions; expected at least 1")
        dims = self._stream.read(4 * ndim)
        if len(dims) < 4 * ndim:
            raise DataError(f"{where}: the magic number declares {ndim} dimension(s), which needs a "
                            f"{4 + 4 * ndim}-byte header, but the file has only {4 + len(dims)} byte(s)")
        self.dims = tuple(int(d) for d in np.frombuffer(dims, dtype=">u4"))
        self.dtype = _IDX_DTYPES[code]
        self.record = math.prod(self.dims[1:]) * self.dtype.itemsize     # bytes per example
        self.nbytes = self.dims[0] * self.record
        if self.dims[0] > MAX_EXAMPLES:
            raise DataError(f"{where}: its header declares {self.dims[0]:,} examples, more than initlab reads "
                            f"from one file ({MAX_EXAMPLES:,}); is this an IDX/MNIST file?")
        if not self._gzip:
            self._check_size(size - 4 - 4 * ndim)

    def _check_size(self, found: int, more: bool = False):
        if found != self.nbytes or more:
            state = "truncated" if found < self.nbytes else "longer than its header says"
            count = f"more than {found}" if more else f"{found}"
            raise DataError(f"{self.where} is {state}: dims {self.dims} of {self.dtype.name} need "
                            f"{self.nbytes} data bytes, found {count}")

    def read(self, keep=None, visit=None) -> np.ndarray:
        """The array (native byte order, writable), or only its examples `keep` (sorted indices
        along the first axis); `visit(block)` sees every example on the way, `keep` or not.
        Read in blocks of ~4 MiB, so that memory is the result plus one block."""
        with self._handle:
            per_block = max(1, (4 << 20) // max(self.record, 1))
            count = self.dims[0]
            out = np.empty((count if keep is None else len(keep), *self.dims[1:]), self.dtype.newbyteorder("="))
            kept = 0
            for start in range(0, count, per_block):
                rows = min(per_block, count - start)
                chunk = self._stream.read(rows * self.record)
                if len(chunk) != rows * self.record:
                    self._check_size(start * self.record + len(chunk))
                block = np.frombuffer(chunk, dtype=self.dtype).reshape(rows, *self.dims[1:])
                if visit is not None:
                    visit(block)
                if keep is None:
                    out[start:start + rows] = block
                else:
                    chosen = keep[(keep >= start) & (keep < start + rows)] - start
                    out[kept:kept + len(chosen)] = block[chosen]
                    kept += len(chosen)
            if self._gzip and not self._stream.at_end():
                self._check_size(self.nbytes, more=True)
            if not self._gzip and self._stream.read(1):
                raise DataError(f"{self.where} changed while it was read")
        return out

    def close(self):
        self._handle.close()


def as_path(value, name: str) -> Path:
    """A str or os.PathLike as a Path; anything else is an InvalidValueError naming `name`."""
    if not isinstance(value, (str, os.PathLike)):
        raise InvalidValueError(f"{name}: expected a path (str or pathlib.Path), got {value!r}")
    return Path(value)


def read_idx(path) -> np.ndarray:
    """Read an IDX file (raw or gzipped) -> an array of its dims, in native byte order.

    Layout: magic (0, 0, type code, ndim), ndim big-endian uint32 dims, then prod(dims)
    big-endian items of the type (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
    0x0D float32, 0x0E float64). Only regular files are read, never past what the dims declare.
    """
    return IdxFile(as_path(path, "read_idx path")).read()
