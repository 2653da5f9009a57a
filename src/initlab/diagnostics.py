"""Measurements on any Sequential: filter similarity, template scores, signal propagation.

Floor 5 (NumPy only). These are the instruments the lab's studies read.
"""
from __future__ import annotations

import numpy as np

from .errors import ShapeError


def _as_filters(weight, who):
    weight = np.asarray(weight, dtype=np.float64)
    if weight.ndim < 2:
        raise ShapeError(f"{who}: expected a weight with an output axis first, (out, ...), got shape {weight.shape}")
    return weight.reshape(weight.shape[0], -1)


def filter_similarity(weight) -> np.ndarray:
    """Pairwise cosine similarity of a layer's filters: S[i, j] = <w_i, w_j> / (|w_i| |w_j|).

    weight (out, ...) -> S (out, out). Two all-zero filters count as identical (S = 1): a
    zero-initialized layer has not broken the symmetry, and its similarity should say so.
    A matrix of ones everywhere means every filter is the same: the symmetry was never broken.
    """
    flat = _as_filters(weight, "filter_similarity")
    norms = np.linalg.norm(flat, axis=1)
    zero = norms == 0
    unit = np.divide(flat, norms[:, None], out=np.zeros_like(flat), where=~zero[:, None])
    sim = unit @ unit.T
    sim[np.ix_(zero, zero)] = 1.0
    return np.clip(sim, -1.0, 1.0)


def offdiagonal(matrix) -> np.ndarray:
    """The entries of a square matrix off its diagonal, as a flat array."""
    matrix = np.asarray(matrix)
    return matrix[~np.eye(matrix.shape[0], dtype=bool)]


def template_scores(weight, templates=None):
    """How much each kernel looks like each hand-made template: (scores, template names).

    For kernel k (one input channel of one filter) and template t of the same size, the
    score is the absolute Pearson correlation |corr(k, t)| (the normalized correlation of the
    mean-subtracted arrays, maximized over the sign flip k -> -k). A filter's score is the
    best over its input channels. weight (out, in, kh, kw) -> scores (out, len(templates)).
    `templates` defaults to `filters.templates(kh)` (X, plus, diagonals, lines, edges).
    """
    weight = np.asarray(weight, dtype=np.float64)
    if weight.ndim != 4:
        raise ShapeError(f"template_scores: expected a conv weight (out, in, kh, kw), got shape {weight.shape}")
    if weight.shape[2] != weight.shape[3]:
        raise ShapeError(f"template_scores: expected square kernels, got {weight.shape[2]}x{weight.shape[3]}")
    if templates is None:
        from .filters import templates as make_templates
        templates = make_templates(weight.shape[2])
    names = list(templates)
    stack = np.stack([np.asarray(templates[n], dtype=np.float64) for n in names])
    if stack.shape[1:] != weight.shape[2:]:
        raise ShapeError(f"template_scores: templates are {stack.shape[1:]}, kernels are {weight.shape[2:]}")

    def normalize(a):
        a = a.reshape(*a.shape[:-2], -1)
        a = a - a.mean(axis=-1, keepdims=True)
        norm = np.linalg.norm(a, axis=-1, keepdims=True)
        return np.divide(a, norm, out=np.zeros_like(a), where=norm > 0)

    corr = np.einsum("oik,tk->oit", normalize(weight), normalize(stack))
    return np.abs(corr).max(axis=1), names
