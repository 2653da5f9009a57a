"""Images from files for `initlab predict` and `initlab inspect --image`: raw intensities in [0, 1].

* a picture Pillow reads (PNG, JPEG, BMP, GIF, ...): converted to grayscale for a one-channel
  model (Pillow's "L": L = 0.299 R + 0.587 G + 0.114 B; alpha is ignored) or to RGB for a
  three-channel one, then pixels / 255;
* a NumPy array (.npy, never pickled) or an IDX file (the MNIST format, raw or gzipped):
  (H, W) is one image, (N, H, W) N one-channel images (the IDX layout), (N, C, H, W) as is;
  integer pixels are divided by 255, floats are taken as intensities in [0, 1].

Each image is then resized to the model's input size (H, W) where the checkpoint records it,
with Pillow's bilinear filter (antialiased when shrinking). `invert` turns dark ink on a light
background (a scan, a drawing) into the bright-on-dark of MNIST and the digits: x <- 1 - x.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..data import read_idx
from ..errors import DataError, ShapeError

_IDX_TYPES = (0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E)
_GZIP = b"\x1f\x8b"


def _is_idx(head: bytes) -> bool:
    return head[:2] == _GZIP or (len(head) >= 4 and head[0] == 0 and head[1] == 0 and head[2] in _IDX_TYPES)


def _read_array(path: Path, option: str) -> np.ndarray:
    if path.suffix.lower() == ".npy":
        try:
            return np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise DataError(f"{option}: {str(path)!r} is not a readable .npy array ({exc})") from None
    try:
        return read_idx(path)
    except DataError as exc:
        raise DataError(f"{option}: {exc}") from None


def _array_images(array: np.ndarray, path: Path, channels: int, option: str) -> np.ndarray:
    """(N, C, H, W) float32 intensities from an array of 2, 3 or 4 dimensions."""
    if array.dtype.kind not in "iuf" or array.size == 0:
        raise DataError(f"{option}: {str(path)!r} holds a {array.dtype} array of shape {array.shape}; "
                        "expected numeric images")
    shapes = {2: lambda a: a[None, None], 3: lambda a: a[:, None], 4: lambda a: a}
    if array.ndim not in shapes:
        raise ShapeError(f"{option}: {str(path)!r} holds an array of shape {array.shape}; expected (H, W), "
                         "(N, H, W) or (N, C, H, W)")
    images = shapes[array.ndim](array)
    if images.shape[1] != channels:
        raise ShapeError(f"{option}: {str(path)!r} holds images of {images.shape[1]} channel(s) (shape "
                         f"{array.shape}), the model takes {channels}; expected (N, {channels}, H, W)")
    scaled = images.astype(np.float32) / (np.float32(255) if array.dtype.kind in "iu" else np.float32(1))
    if not np.isfinite(scaled).all():
        raise DataError(f"{option}: {str(path)!r} holds NaN or infinite values")
    return scaled


def _picture(path: Path, channels: int, option: str) -> np.ndarray:
    """(1, C, H, W) float32 from a picture file."""
    if channels not in (1, 3):
        raise ShapeError(f"{option}: {str(path)!r} is a picture, and the model takes {channels} channels; "
                         "give it an array (N, C, H, W) (.npy)")
    try:
        with Image.open(path) as picture:
            picture.load()
            pixels = np.asarray(picture.convert("L" if channels == 1 else "RGB"), dtype=np.float32)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise DataError(f"{option}: {str(path)!r} is not an image Pillow can read (PNG, JPEG, ...), an IDX "
                        f"file or a .npy array ({exc})") from None
    pixels = pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)
    return (pixels / np.float32(255))[None]


def _resize(images: np.ndarray, size) -> np.ndarray:
    """Every channel of every image to (H, W) = size, bilinear (Pillow's float mode "F")."""
    if size is None or tuple(images.shape[2:]) == tuple(size):
        return images
    h, w = size
    out = np.empty((*images.shape[:2], h, w), dtype=np.float32)
    for n in range(images.shape[0]):
        for c in range(images.shape[1]):
            plane = Image.fromarray(np.ascontiguousarray(images[n, c], dtype=np.float32), mode="F")
            out[n, c] = np.asarray(plane.resize((w, h), Image.Resampling.BILINEAR), dtype=np.float32)
    return out


def read(paths, *, channels: int, size=None, invert: bool = False, option: str = "INPUTS"):
    """(images (N, C, H, W) float32 in [0, 1] at `size`, one label per image) from files."""
    batches, labels = [], []
    for name in paths:
        path = Path(name)
        if not path.exists():
            raise DataError(f"{option}: {name!r} does not exist")
        if path.is_dir():
            raise DataError(f"{option}: {name!r} is a folder; expected an image file, a .npy array or an IDX file")
        with open(path, "rb") as handle:
            head = handle.read(4)
        if path.suffix.lower() == ".npy" or _is_idx(head):
            images = _array_images(_read_array(path, option), path, channels, option)
            labels += [path.name] if len(images) == 1 else [f"{path.name}[{i}]" for i in range(len(images))]
        else:
            images = _picture(path, channels, option)
            labels.append(path.name)
        batches.append(_resize(images, size))
    x = np.concatenate(batches)
    return (1 - x if invert else x), labels
