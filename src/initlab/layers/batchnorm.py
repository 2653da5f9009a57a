"""Batch normalization (`BatchNorm2D`), with PyTorch's running statistics and options.

Floor 2.
"""
from __future__ import annotations

import numpy as np

from ..constraints import Boolean, Integer, Optional, Real, check
from ..layer_entry import Images
from .base import Layer


class BatchNorm2D(Layer):
    """Batch normalization over (N, H, W) per channel, Ioffe & Szegedy 2015.

    training: y = gamma (x - mean_B) / sqrt(var_B + eps) + beta with the batch's biased
    variance; the running statistics move by `momentum` (PyTorch's convention, running_var from
    the unbiased variance). eval: the running statistics are used instead.
    Parameters `weight` (gamma, init 1) and `bias` (beta, init 0); buffers `running_mean`,
    `running_var`, `num_batches_tracked` (PyTorch's names, so state dicts line up).

    PyTorch's options: `affine=False` has no gamma and beta (y = x_hat, no parameters);
    `track_running_stats=False` keeps no buffers and normalizes with the batch's statistics in
    eval too; `momentum=None` makes the running statistics the cumulative average
    (the factor is 1 / num_batches_tracked instead of momentum).
    """

    INPUT = Images(channels="num_features", batch_statistics=True)
    PARAMETERS = {"num_features": Integer(1), "eps": Real(0, low_open=True), "momentum": Optional(Real(0, 1)),
                  "affine": Boolean(), "track_running_stats": Boolean()}
    has_parameters = True

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, *,
                 dtype=np.float32):
        super().__init__(dtype)
        given = check("BatchNorm2D", self.PARAMETERS, dict(
            num_features=num_features, eps=eps, momentum=momentum, affine=affine,
            track_running_stats=track_running_stats))
        self.num_features, self.eps, self.momentum, self.affine, self.track_running_stats = given.values()
        if self.affine:
            self.params = {"weight": np.ones(num_features, self.dtype),
                           "bias": np.zeros(num_features, self.dtype)}
            self.init_names = {"weight": "ones", "bias": "zeros"}
        if self.track_running_stats:
            self.buffers = {"running_mean": np.zeros(num_features, self.dtype),
                            "running_var": np.ones(num_features, self.dtype),
                            "num_batches_tracked": np.zeros((), np.int64)}


    def state_problem(self, name, value):
        if name == "running_var" and np.size(value) and np.min(value) < 0:
            return f"a variance must be >= 0, found {np.min(value):.3g}"
        return None
    def forward(self, x, training=True):
        training = training or not self.track_running_stats    # no running statistics: the batch's
        if training:
            count = x.size // self.num_features
            mean = x.mean(axis=(0, 2, 3))
            var = x.var(axis=(0, 2, 3))
            if self.track_running_stats:
                self.buffers["num_batches_tracked"] = self.buffers["num_batches_tracked"] + 1
                # momentum None: the cumulative average, factor 1/t at the t-th batch
                m = self.momentum if self.momentum is not None else 1.0 / int(self.buffers["num_batches_tracked"])
                unbiased = var * (count / (count - 1))
                self.buffers["running_mean"] = ((1 - m) * self.buffers["running_mean"] + m * mean).astype(self.dtype)
                self.buffers["running_var"] = ((1 - m) * self.buffers["running_var"] + m * unbiased).astype(self.dtype)
        else:
            mean, var = self.buffers["running_mean"], self.buffers["running_var"]
        inv_std = 1 / np.sqrt(var + self.eps)
        x_hat = (x - mean[:, None, None]) * inv_std[:, None, None]
        self._cache = (x_hat, inv_std, training)
        if not self.affine:
            return x_hat.astype(x.dtype, copy=False)
        return self.params["weight"][:, None, None] * x_hat + self.params["bias"][:, None, None]

    def backward(self, grad_y):
        x_hat, inv_std, training = self._cache
        if self.affine:
            gamma = self.params["weight"][:, None, None]
            self.grads["weight"] = (grad_y * x_hat).sum(axis=(0, 2, 3))
            self.grads["bias"] = grad_y.sum(axis=(0, 2, 3))
            g = grad_y * gamma
        else:
            g = grad_y
        if not training:
            return g * inv_std[:, None, None]
        # d/dx of the batch-normalized value: subtract the mean gradient and its projection on x_hat
        mean_g = g.mean(axis=(0, 2, 3), keepdims=True)
        mean_gx = (g * x_hat).mean(axis=(0, 2, 3), keepdims=True)
        return (g - mean_g - x_hat * mean_gx) * inv_std[:, None, None]

    def config(self):
        options = {} if self.affine else {"affine": False}
        if not self.track_running_stats:
            options["track_running_stats"] = False
        return dict(num_features=self.num_features, eps=self.eps, momentum=self.momentum, **options)
