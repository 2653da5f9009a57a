"""The input-output Jacobian's singular values (dynamical isometry), and finite-width drift.

Floor 5. For one example x, J = d f(x) / d x of the model's first `stop` layers (default: the
whole model), as an (output size, input size) matrix. Its singular values say how every
direction of a perturbation, and of the gradient going back, is stretched through the depth:
all near 1 is dynamical isometry (Saxe et al. 2014, Pennington et al. 2017); Gaussian kernels
at criticality keep the mean of sigma^2 at 1 but spread the singular values over many orders
of magnitude, delta-orthogonal kernels at q* ~ 0 keep them near 1 (Xiao et al. 2018).

- `jacobian` (exact): the rows of J are vector-Jacobian products u^T J, one per output
  coordinate, from the model's own backward on a batch of copies of x (chunked, with
  recomputation in ~sqrt(L) segments so a deep stack fits in memory).
- `lanczos_singular_values` (large models): Lanczos with full reorthogonalization on J^T J.
  J^T u is exact (backward); the package has no forward-mode differentiation, so J v is a
  central difference (f(x + h v) - f(x - h v)) / 2h in the model's dtype: error ~h^2 |f'''|,
  about 1e-10 of |J| in float64 with the default h (use float64 weights for this; in float32
  the difference is noise). The extreme Ritz values converge first; with `steps` equal to the
  input size the result is the exact spectrum (up to that error).
"""
from __future__ import annotations

import math

import numpy as np

from .errors import InvalidValueError, ShapeError
from .model import Sequential
from .validate import positive_int, real_number


def _prefix(model, stop) -> Sequential:
    if not isinstance(model, Sequential):
        raise InvalidValueError(f"jacobian: expected a Sequential, got {type(model).__name__}")
    stop = len(model.layers) if stop is None else positive_int(stop, "jacobian stop")
    if stop > len(model.layers):
        raise InvalidValueError(f"jacobian stop: expected at most {len(model.layers)} (the model's layers), got {stop}")
    layers = model.layers[:stop]
    if any(layer.buffers or hasattr(layer, "rng") for layer in layers):
        return Sequential(layers)        # eval-mode BatchNorm/Dropout: not recomputable, keep caches
    return Sequential(layers, checkpoint_segments=max(1, round(math.sqrt(len(layers)))))


def _example(model, x) -> np.ndarray:
    """x as a batch of one: (1, C, H, W) for a conv model, (1, features) otherwise."""
    from .layers import Conv2D

    if not isinstance(model, Sequential):
        raise InvalidValueError(f"jacobian: expected a Sequential, got {type(model).__name__}")
    x = np.asarray(x)
    rank = 4 if isinstance(model.layers[0], Conv2D) else 2
    if x.ndim == rank - 1:
        x = x[None]
    if x.ndim != rank or x.shape[0] != 1:
        raise ShapeError(f"jacobian x: expected one example, of {rank - 1} dimensions or a batch of one of "
                         f"{rank}, got shape {x.shape}")
    return x.astype(model.dtype)


def jacobian(model, x, *, stop=None, chunk=64) -> np.ndarray:
    """J (output size, input size) of `model.layers[:stop]` at the example x, from VJPs:
    row i is e_i^T J = backward(e_i) on a copy of x; `chunk` rows per pass. Eval mode; the
    model's weights are unchanged (its gradients and caches are overwritten)."""
    x = _example(model, x)
    chunk = positive_int(chunk, "jacobian chunk")
    net = _prefix(model, stop)
    y = net.infer(x)
    n_out, n_in = y.size, x.size
    rows = np.empty((n_out, n_in), np.float64)
    for start in range(0, n_out, chunk):
        k = min(chunk, n_out - start)
        net.forward(np.repeat(x, k, axis=0), training=False)
        seeds = np.zeros((k, n_out), model.dtype)
        seeds[np.arange(k), start + np.arange(k)] = 1
        rows[start:start + k] = net.backward(seeds.reshape(k, *y.shape[1:]), input_grad=True).reshape(k, n_in)
    return rows


def singular_values(model, x, *, stop=None, chunk=64) -> np.ndarray:
    """All singular values of J (descending), exact: the SVD of `jacobian` in float64."""
    return np.linalg.svd(jacobian(model, x, stop=stop, chunk=chunk), compute_uv=False)


def lanczos_singular_values(model, x, *, stop=None, steps=60, h=None, rng=None) -> np.ndarray:
    """Approximate singular values of J (descending) from `steps` Lanczos steps on J^T J
    (the Ritz values; the largest and smallest converge first). J^T u by backward, J v by a
    central difference with step h (default 1e-5 * rms(x), at least 1e-8)."""
    from .rng import as_generator

    x = _example(model, x)
    net = _prefix(model, stop)
    n = x.size
    steps = min(positive_int(steps, "lanczos steps"), n)
    scale = float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) or 1.0
    h = max(1e-5 * scale, 1e-8) if h is None else real_number(h, "lanczos h", low=0.0, low_open=True)
    y_shape = net.infer(x).shape

    def jv(v):
        step = (h * v).reshape(x.shape).astype(x.dtype)
        return (net.infer(x + step).astype(np.float64) - net.infer(x - step).astype(np.float64)).ravel() / (2 * h)

    def jtu(u):
        net.forward(x, training=False)
        return net.backward(u.reshape(y_shape).astype(x.dtype), input_grad=True).astype(np.float64).ravel()

    basis = np.zeros((steps, n))
    alpha, beta = np.zeros(steps), np.zeros(steps)
    v = as_generator(rng).standard_normal(n)
    v /= np.linalg.norm(v)
    for k in range(steps):
        basis[k] = v
        w = jtu(jv(v))
        alpha[k] = v @ w
        w -= basis[:k + 1].T @ (basis[:k + 1] @ w)          # full reorthogonalization, twice
        w -= basis[:k + 1].T @ (basis[:k + 1] @ w)
        if k + 1 < steps:
            beta[k] = np.linalg.norm(w)
            if beta[k] < 1e-13 * max(abs(alpha[:k + 1]).max(), 1e-300):
                steps = k + 1
                break
            v = w / beta[k]
    tri = np.diag(alpha[:steps]) + np.diag(beta[:steps - 1], 1) + np.diag(beta[:steps - 1], -1)
    ritz = np.linalg.eigvalsh(tri)[::-1]
    return np.sqrt(np.maximum(ritz, 0.0))


def summarize(values, *, factor=10.0, predicted_mean_sq=None) -> dict:
    """{count, max, min, condition, rms, within}: condition = max / min; rms = sqrt(mean s^2);
    within = the fraction of singular values within `factor` of the rms. With a mean-field
    `predicted_mean_sq` (the product of the layers' chi_1, e.g. from `predicted_mean_sq`), it
    is reported beside the measured mean of s^2."""
    s = np.asarray(values, dtype=np.float64)
    if s.ndim != 1 or s.size == 0 or np.any(s < 0) or not np.all(np.isfinite(s)):
        raise InvalidValueError(f"summarize: expected a non-empty 1-D array of singular values >= 0, got {s!r:.80}")
    factor = real_number(factor, "summarize factor", low=1.0)
    rms = float(np.sqrt(np.mean(s * s)))
    out = {"count": int(s.size), "max": float(s.max()), "min": float(s.min()),
           "condition": float(s.max() / s.min()) if s.min() > 0 else math.inf, "rms": rms,
           "mean_sq": rms * rms,
           "within": float(np.mean((s >= rms / factor) & (s <= rms * factor))), "factor": factor}
    if predicted_mean_sq is not None:
        out["predicted_mean_sq"] = float(predicted_mean_sq)
    return out


def predicted_mean_sq(model, x) -> float:
    """The mean-field prediction of mean(s^2) = tr(J^T J) / n_in over the leading conv/activation
    stack (stride 1, 'same' zero padding), per pixel so the border is included.

    With the drawn weights' sigma_w^2 = mean(w^2) fan_in and the biases' sigma_b^2, layer l
    maps the map of E[phi^2] to q_l(p) = sigma_w^2 (window mean of E[phi^2]) + sigma_b^2 and a
    perturbation's squared-norm map to m_l(p) = chi_l(p) (window mean of m_{l-1}), with
    chi_l(p) = sigma_w^2 E[phi'(z)^2], z ~ N(0, q_l(p)). A kernel that uses only its centre
    tap (delta-orthogonal) takes the pixel itself instead of the window mean. Then
    mean(s^2) = sum_p m_L(p) / (H W) from m_0 = 1 (every input pixel alike).
    """
    from .layers import Conv2D
    from .propagation import activation_moments, conv_blocks
    from .theory import _tap_operator

    x = _example(model, x).astype(np.float64)
    if not isinstance(model.layers[0], Conv2D):
        raise ShapeError("predicted_mean_sq: the model must start with a Conv2D layer")
    second = np.mean(x[0] ** 2, axis=0)                 # E[x^2] per pixel, (H, W)
    mass = np.ones_like(second)
    for index, conv, act, w, weight_var, sigma_b2 in conv_blocks(model, "predicted_mean_sq"):
        sigma_w2 = weight_var * w[0].size
        centre = tuple(k // 2 for k in w.shape[2:])
        if np.count_nonzero(w) > np.count_nonzero(w[(slice(None), slice(None)) + centre]):
            (h, wd), (kh, kw), (ph, pw) = second.shape, conv.kernel_size, conv.padding
            if conv.stride != (1, 1) or h + 2 * ph - kh + 1 != h or wd + 2 * pw - kw + 1 != wd:
                raise ShapeError(f"predicted_mean_sq: layer {index} needs stride 1 and 'same' padding")
            rows, cols = _tap_operator(h, kh, ph) / kh, _tap_operator(wd, kw, pw) / kw
            spread = lambda m: rows @ m @ cols.T
        else:
            spread = lambda m: m
        q = sigma_w2 * spread(second) + sigma_b2
        _, m2, d2 = activation_moments(act, q)
        mass = sigma_w2 * d2 * spread(mass)
        second = m2
    return float(mass.mean())


# ------------------------------------------------------------------------- finite-width drift of log q

def log_q_per_layer(model, x) -> np.ndarray:
    """log of the mean square pre-activation after each conv layer (over batch, channels, pixels)."""
    from .layers import Conv2D

    out = []
    h = np.asarray(x, dtype=model.dtype)
    for layer in model.layers:
        h = layer.forward(h, training=False)
        layer.release()
        if isinstance(layer, Conv2D):
            out.append(math.log(float(np.mean(h.astype(np.float64) ** 2))))
    return np.array(out)


def log_q_drift(widths, *, depth=40, kernel="delta_orthogonal", activation="tanh", sigma_b2=1e-3, sigma_w2=None,
                image_size=8, batch=16, seeds=(0, 1, 2)) -> dict:
    """The finite-width drift of log q per layer, fitted as a + b / width.

    For each width and seed: a `theory.vanilla_cnn` stack with width input channels, fed
    inputs phi(z), z ~ N(0, q*) (the fixed point: the infinite-width variance stays at q*
    for delta-orthogonal kernels, and follows diagnostics' per-pixel recursion with the zero
    border for the others);
    the drift is the least-squares slope over layers of log(q_measured / q_mean_field). Returns
    {widths, slopes (mean over seeds per width), a, b}: a ~ 0 means the mean field is right at
    infinite width, b is the 1/width correction (negative: finite nets lose variance).
    """
    from . import theory
    from .propagation import predicted_propagation
    from .init.meanfield import activation_pair

    widths = [positive_int(w, "log_q_drift width") for w in widths]
    if len(widths) < 2:
        raise InvalidValueError(f"log_q_drift: expected at least 2 widths to fit a + b / width, got {widths}")
    s2 = theory.critical_sigma_w2(activation, sigma_b2) if sigma_w2 is None else sigma_w2
    q_star = theory.fixed_point_q(activation, s2, sigma_b2)
    phi = activation_pair(activation)
    slopes = []
    for width in widths:
        per_seed = []
        for seed in seeds:
            model = theory.vanilla_cnn(depth, width, activation=activation, kernel=kernel, sigma_w2=s2,
                                       sigma_b2=sigma_b2, in_channels=width, rng=seed, dtype=np.float64)
            z = np.random.default_rng(10_000 + seed).standard_normal((batch, width, image_size, image_size))
            x = phi(math.sqrt(q_star) * z)[0]
            measured = log_q_per_layer(model, x)
            # a delta kernel maps each pixel to itself: the homogeneous recursion, no border loss
            size = None if kernel == "delta_orthogonal" else image_size
            blocks = predicted_propagation(model, float(np.mean(x * x)), image_size=size)
            gap = measured - np.log([b["q"] for b in blocks])
            per_seed.append(np.polyfit(np.arange(depth), gap, 1)[0])
        slopes.append(float(np.mean(per_seed)))
    design = np.column_stack([np.ones(len(widths)), 1.0 / np.array(widths, dtype=np.float64)])
    (a, b), *_ = np.linalg.lstsq(design, np.array(slopes), rcond=None)
    return {"widths": widths, "slopes": slopes, "a": float(a), "b": float(b), "q_star": q_star, "sigma_w2": s2,
            "sigma_b2": sigma_b2, "kernel": kernel, "activation": activation, "depth": depth}
