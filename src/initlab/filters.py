"""Hand-made filters: kernels chosen by a person instead of drawn at random and trained.

Floor 1 (NumPy only). Every filter is a 2-D float32 array meant for *cross-correlation*, which
is what a CNN's "convolution" computes: the output at a pixel is the sum of the kernel times
the patch under it, without flipping the kernel. So ``sobel_x`` is positive where the image gets
brighter to the right, and ``x_shape`` answers most strongly where an X is drawn.

``bank(names, in_channels)`` stacks named filters into a conv weight
``(len(names), in_channels, k, k)`` that a ``Conv2D`` can start from; ``templates(size)`` gives
the stroke patterns the lab scores learned kernels against.
"""
from __future__ import annotations

import math
from typing import Callable, Iterable

import numpy as np

from .errors import InvalidValueError, unknown_name
from .validate import positive_int, real_number

__all__ = [
    "sobel_x", "sobel_y", "prewitt_x", "prewitt_y", "laplacian", "sharpen", "gaussian",
    "x_shape", "plus_shape", "diagonal", "antidiagonal", "hline", "vline", "edge_x", "edge_y",
    "bank", "templates", "names",
]


def _kernel(rows) -> np.ndarray:
    return np.array(rows, dtype=np.float32)


def _size(size, who: str, *, odd: bool) -> int:
    """Check a kernel size: an int >= 2, odd when the filter has a centre row/column."""
    size = positive_int(size, f"{who}: size", minimum=3 if odd else 2)
    if odd and size % 2 == 0:
        raise InvalidValueError(f"{who}: size must be odd (the filter has a centre line), got {size}")
    return size


# ------------------------------------------------------------------------ classic 3x3 filters

def sobel_x() -> np.ndarray:
    """Horizontal gradient (responds to vertical edges), smoothed vertically:
    [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]] = outer([1, 2, 1], [-1, 0, 1])."""
    return _kernel([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])


def sobel_y() -> np.ndarray:
    """Vertical gradient (responds to horizontal edges): the transpose of sobel_x."""
    return sobel_x().T.copy()


def prewitt_x() -> np.ndarray:
    """Horizontal gradient with plain averaging: [[-1, 0, 1]] * 3 rows."""
    return _kernel([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]])


def prewitt_y() -> np.ndarray:
    """Vertical gradient with plain averaging: the transpose of prewitt_x."""
    return prewitt_x().T.copy()


def laplacian() -> np.ndarray:
    """The 4-neighbour Laplacian [[0, 1, 0], [1, -4, 1], [0, 1, 0]]: edges in every direction
    (sums to 0, so flat regions give 0)."""
    return _kernel([[0, 1, 0], [1, -4, 1], [0, 1, 0]])


def sharpen() -> np.ndarray:
    """[[0, -1, 0], [-1, 5, -1], [0, -1, 0]] = identity - laplacian: sums to 1, boosts edges."""
    return _kernel([[0, -1, 0], [-1, 5, -1], [0, -1, 0]])


def gaussian(size: int = 3, sigma: float = 1.0) -> np.ndarray:
    """A blur: exp(-(i**2 + j**2) / (2 sigma**2)) over offsets from the centre, normalized to sum 1.

    Any sigma > 0 works: a tiny one gives the delta at the centre (the four centre taps for an
    even size), a huge one the box filter.
    """
    size = positive_int(size, "gaussian: size")
    sigma = real_number(sigma, "gaussian: sigma", low=0.0, low_open=True)
    offsets = np.arange(size) - (size - 1) / 2
    # measured from the taps nearest the centre, which get exp(0) = 1, so the sum is >= 1 even
    # where sigma**2 underflows; divided by sigma twice, since sigma**2 may underflow to 0 (0/0)
    excess = offsets ** 2 - np.min(offsets ** 2)
    with np.errstate(over="ignore"):            # exp(-inf) = 0 is the right weight there
        g = np.exp(-(excess / sigma / sigma) / 2.0)
    k = np.outer(g, g)
    return (k / k.sum()).astype(np.float32)


# ------------------------------------------------------------------------ stroke shapes, any size

def diagonal(size: int = 3) -> np.ndarray:
    """Ones on the main diagonal (top-left to bottom-right): a "\\" stroke."""
    return np.eye(_size(size, "diagonal", odd=False), dtype=np.float32)


def antidiagonal(size: int = 3) -> np.ndarray:
    """Ones on the anti-diagonal (top-right to bottom-left): a "/" stroke."""
    return np.fliplr(np.eye(_size(size, "antidiagonal", odd=False), dtype=np.float32)).copy()


def x_shape(size: int = 3) -> np.ndarray:
    """An X: ones on both diagonals. For 3x3 the kernel of the classic convolution animation,
    [[1, 0, 1], [0, 1, 0], [1, 0, 1]]."""
    size = _size(size, "x_shape", odd=False)
    return np.maximum(diagonal(size), antidiagonal(size))


def hline(size: int = 3) -> np.ndarray:
    """Ones on the middle row: a horizontal stroke."""
    size = _size(size, "hline", odd=True)
    k = np.zeros((size, size), dtype=np.float32)
    k[size // 2, :] = 1.0
    return k


def vline(size: int = 3) -> np.ndarray:
    """Ones on the middle column: a vertical stroke."""
    return hline(_size(size, "vline", odd=True)).T.copy()


def plus_shape(size: int = 3) -> np.ndarray:
    """A plus: ones on the middle row and the middle column, [[0, 1, 0], [1, 1, 1], [0, 1, 0]]."""
    size = _size(size, "plus_shape", odd=True)
    return np.maximum(hline(size), vline(size))


def edge_x(size: int = 3) -> np.ndarray:
    """Sobel's horizontal gradient at any odd size: outer(binomial row, sign(j - centre)).
    edge_x(3) equals sobel_x()."""
    size = _size(size, "edge_x", odd=True)
    smooth = np.array([math.comb(size - 1, i) for i in range(size)], dtype=np.float64)
    step = np.sign(np.arange(size) - size // 2)
    return np.outer(smooth, step).astype(np.float32)


def edge_y(size: int = 3) -> np.ndarray:
    """Sobel's vertical gradient at any odd size: the transpose of edge_x. edge_y(3) == sobel_y()."""
    return edge_x(_size(size, "edge_y", odd=True)).T.copy()


# ------------------------------------------------------------------------ registry and bank

_FIXED: dict[str, Callable[[], np.ndarray]] = {f.__name__: f for f in (
    sobel_x, sobel_y, prewitt_x, prewitt_y, laplacian, sharpen,
)}
_SIZED: dict[str, Callable[[int], np.ndarray]] = {f.__name__: f for f in (
    gaussian, x_shape, plus_shape, diagonal, antidiagonal, hline, vline, edge_x, edge_y,
)}
# the class names of data.shapes, so a filter can be asked for by the shape it detects
_ALIASES = {"x": "x_shape", "plus": "plus_shape", "diag": "diagonal", "antidiag": "antidiagonal"}


def names(aliases: bool = False) -> list[str]:
    """The filter names `bank` accepts (and their aliases too, with ``aliases=True``), sorted."""
    return sorted(set(_FIXED) | set(_SIZED) | (set(_ALIASES) if aliases else set()))


def _centre_pad(kernel: np.ndarray, size: int, name: str) -> np.ndarray:
    """Embed a k x k kernel at the centre of a size x size one (same response, wider support)."""
    k = kernel.shape[0]
    if size < k or (size - k) % 2:
        raise InvalidValueError(
            f"bank: filter {name!r} is {k}x{k}; it fits a size of {k}, {k + 2}, {k + 4}, ..., got size={size}"
        )
    pad = (size - k) // 2
    return np.pad(kernel, pad)


def _named(name, size: int) -> np.ndarray:
    if not isinstance(name, str):
        raise unknown_name("filter", name, names(aliases=True))
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key in _SIZED:
        return _SIZED[key](size)
    if key in _FIXED:
        return _centre_pad(_FIXED[key](), size, key)
    raise unknown_name("filter", name, names(aliases=True))


def bank(names: str | Iterable[str], in_channels: int = 1, size: int | None = None) -> np.ndarray:
    """Stack named filters into a conv weight of shape ``(len(names), in_channels, k, k)``, float32.

    Output channel i holds filter ``names[i]`` on every input channel (unscaled, so on an
    image whose C channels are equal it answers C times the one-channel response). k is
    `size` (default 3): the sized filters are drawn at k, the fixed 3x3 ones (sobel, prewitt,
    laplacian, sharpen) are zero-padded around their centre. Names may be aliases (x, plus,
    diag, antidiag); an unknown name is an error with a suggestion.
    """
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, Iterable):
        raise InvalidValueError(
            f"bank: names: expected a filter name or a list of names, got {type(names).__name__}")
    names = list(names)
    if not names:
        raise InvalidValueError("bank: names: expected at least one filter name, got an empty list")
    in_channels = positive_int(in_channels, "bank: in_channels")
    size = 3 if size is None else positive_int(size, "bank: size")
    kernels = np.stack([_named(n, size) for n in names])
    # np.array copies: a broadcast view is read-only and would alias for in_channels=1
    return np.array(np.broadcast_to(kernels[:, None], (len(names), in_channels, size, size)),
                    dtype=np.float32, order="C")


def templates(size: int = 3) -> dict[str, np.ndarray]:
    """The hand-made patterns learned kernels are scored against, each ``(size, size)`` float32.

    x, plus, diagonal, antidiagonal, hline, vline (strokes of the shapes data set), edge_x and
    edge_y (oriented Sobel edges) and edges (the Laplacian, every orientation at once; zero-
    padded beyond 3x3). `size` is odd and >= 3.
    """
    size = _size(size, "templates", odd=True)
    out = {
        "x": x_shape(size), "plus": plus_shape(size), "diagonal": diagonal(size),
        "antidiagonal": antidiagonal(size), "hline": hline(size), "vline": vline(size),
        "edge_x": edge_x(size), "edge_y": edge_y(size),
        "edges": _centre_pad(laplacian(), size, "laplacian"),
    }
    return out
