"""The mean-field prediction of signal propagation through a plain conv/activation stack (floor 5).

`predicted_propagation` gives each conv layer's predicted pre-activation variance (per pixel,
with the zero border), the activation statistics that follow and the backward gradient factor;
`conv_blocks` is the walk over the stack that the predictions share (spectrum's too).

E[.] over z ~ N(0, q) is computed by Gauss-Hermite quadrature (`points` nodes of
numpy.polynomial.hermite_e.hermegauss; an even count, so that no node sits on the kink at 0,
where ReLU's derivative jumps and an odd rule would get E[relu'(z)^2] = 1/2 wrong by the
centre node's weight). For ReLU, E[phi^2] and E[phi'^2] are then exact and E[phi] (through
|z|'s kink) good to ~0.4% with 100 nodes. For a saturating activation (tanh, sigmoid) at
q > 1, phi' is a spike much narrower than the Gaussian, so there a composite Gauss-Legendre
grid on [-40, 40] is used instead (exact to ~1e-10; a 100-node Hermite rule gets
E[tanh'(z)^2] at q = 130 wrong by 20x).
"""
from __future__ import annotations

import numpy as np

from .errors import DTypeError, InvalidValueError, ShapeError
from .init import meanfield


def _phi_and_grad(layer, z):
    """phi(z) and phi'(z) of an activation layer (identity for None), in float64."""
    if layer is None:
        return z, np.ones_like(z)
    params = getattr(layer, "fn_params", {})
    with np.errstate(all="ignore"):
        phi = np.asarray(layer.fn(z, **params), dtype=np.float64)
        dphi = np.asarray(layer.fn_grad(z, phi, **params), dtype=np.float64)
    return phi, dphi


def activation_moments(layer, q, nodes=None, weights=None):
    """E[phi(z)], E[phi(z)^2], E[phi'(z)^2] for z ~ N(0, q), elementwise over the map q
    (`init.meanfield.moments`, with the layer's own phi: Gauss-Hermite, or a fine grid for a
    saturating phi at q > 1)."""
    return meanfield.moments(lambda z: _phi_and_grad(layer, z), q, nodes, weights)


def _window_sum(s, kernel, stride, padding):
    """Sum of the map s (H, W) over each kernel window, zero-padded: the conv's output grid."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    padded = np.pad(s, ((ph, ph), (pw, pw)))
    oh, ow = (padded.shape[0] - kh) // sh + 1, (padded.shape[1] - kw) // sw + 1
    out = np.zeros((oh, ow))
    for u in range(kh):
        for v in range(kw):
            out += padded[u:u + sh * oh:sh, v:v + sw * ow:sw]
    return out


def _window_sum_adjoint(g, in_shape, kernel, stride, padding):
    """The adjoint of `_window_sum`: each input pixel sums the outputs whose window holds it."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    oh, ow = g.shape
    padded = np.zeros((in_shape[0] + 2 * ph, in_shape[1] + 2 * pw))
    for u in range(kh):
        for v in range(kw):
            padded[u:u + sh * oh:sh, v:v + sw * ow:sw] += g
    return padded[ph:ph + in_shape[0], pw:pw + in_shape[1]]


def _as_model(model_spec_or_model):
    from .model import Sequential
    from .models import plain_cnn

    if isinstance(model_spec_or_model, Sequential):
        return model_spec_or_model
    if isinstance(model_spec_or_model, dict):
        spec = dict(model_spec_or_model)
        seed = spec.pop("seed", 0)
        try:
            return plain_cnn(**spec, rng=seed, dtype=np.float64)
        except TypeError as exc:
            raise InvalidValueError(f"predicted_propagation: bad model spec {model_spec_or_model!r}: {exc}") from None
    raise InvalidValueError(
        "predicted_propagation: expected a Sequential or a plain_cnn spec dict "
        f"(depth, width, activation, weight_init, ...), got {type(model_spec_or_model).__name__}"
    )


_VARIANCE_FORMS = "a number, an (H, W) or a (C, H, W) map of E[x^2]"


def _variance_array(input_variance) -> np.ndarray:
    """input_variance as a float64 array of finite values >= 0."""
    try:
        v = np.asarray(input_variance)
    except Exception:         # ragged nested lists
        v = np.asarray(None)
    if v.dtype.kind == "c":
        raise DTypeError(f"predicted_propagation input_variance: expected real values of E[x^2], "
                         f"got complex {_brief(input_variance)}")
    if v.dtype.kind not in "iuf":
        raise InvalidValueError(f"predicted_propagation input_variance: expected {_VARIANCE_FORMS}, "
                                f"got {_brief(input_variance)}")
    v = v.astype(np.float64)
    if not np.all(np.isfinite(v)) or np.any(v < 0):
        raise InvalidValueError(f"predicted_propagation: input_variance must be finite and >= 0, "
                                f"got {_brief(input_variance)}")
    return v


def _brief(value, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _input_map(input_variance, in_channels, image_size):
    """S_0: the per-pixel sum over input channels of E[x_c^2], as an (H, W) map ((1, 1) if homogeneous).

    A map must match the model's first layer (C = in_channels) and fixes the image size, so an
    `image_size` that differs from it is refused rather than silently ignored."""
    from .validate import pair

    v = _variance_array(input_variance)
    size = None if image_size is None else pair(image_size, "predicted_propagation image_size", minimum=1)
    if v.ndim == 0:
        if size is None:
            return None, float(v) * in_channels
        return np.full(size, float(v) * in_channels), None
    if v.ndim not in (2, 3) or 0 in v.shape:
        raise ShapeError(f"predicted_propagation: input_variance must be {_VARIANCE_FORMS}, got shape {v.shape}")
    if v.ndim == 3 and v.shape[0] != in_channels:
        raise ShapeError(f"predicted_propagation: input_variance is a map of {v.shape[0]} channel(s) "
                         f"(shape {v.shape}), but layer 0 (Conv2D) takes {in_channels} input channel(s): "
                         f"expected ({in_channels}, H, W), or an (H, W) map shared by every channel")
    if size is not None and size != v.shape[-2:]:
        raise InvalidValueError(f"predicted_propagation: image_size {size} conflicts with the input_variance "
                                f"map's size {v.shape[-2:]}; a map sets the image size, give image_size "
                                f"only with a scalar input_variance")
    return (v * in_channels if v.ndim == 2 else v.sum(axis=0)), None


def check_plain_conv(conv, index, where):
    """The predictions follow plain convolutions: refuse PyTorch's other options by name."""
    options = {"dilation": (conv.dilation, (1, 1)), "groups": (conv.groups, 1),
               "padding_mode": (conv.padding_mode, "zeros")}
    for name, (value, plain) in options.items():
        if value != plain:
            raise InvalidValueError(f"{where}: layer {index} (Conv2D) has {name}={value!r}; the prediction "
                                    f"covers plain convolutions ({name}={plain!r})")
    if not np.isscalar(conv.padding[0]):
        raise InvalidValueError(f"{where}: layer {index} (Conv2D) pads unequally before and after "
                                f"{conv.padding}; the prediction covers equal padding on both sides")


def conv_blocks(model, where):
    """Yield (index, conv, activation, w, weight_var, bias_var) for the conv/activation stack
    from the input: each Conv2D (refused by name unless plain) with the Activation right after
    it (None if the next layer is not one), its weight in float64 and the mean squares of its
    weight and bias. The walk stops at the first other layer (plain_cnn's global pooling)."""
    from .layers import Activation, Conv2D

    layers, index = model.layers, 0
    while index < len(layers) and isinstance(layers[index], Conv2D):
        conv = layers[index]
        check_plain_conv(conv, index, where)
        act = layers[index + 1] if index + 1 < len(layers) and isinstance(layers[index + 1], Activation) else None
        w = conv.params["weight"].astype(np.float64)
        b = conv.params.get("bias")
        bias_var = 0.0 if b is None else float(np.mean(b.astype(np.float64) ** 2))
        yield index, conv, act, w, float(np.mean(w * w)), bias_var
        index += 2 if act is not None else 1


def _conv_window_sum(s_map, conv, index):
    """_window_sum over conv's windows, or a ShapeError naming the layer when none fits the map."""
    (kh, kw), (ph, pw) = conv.kernel_size, conv.padding
    h, w = s_map.shape
    if h + 2 * ph < kh or w + 2 * pw < kw:
        raise ShapeError(f"predicted_propagation: layer {index} (Conv2D) with a {kh}x{kw} kernel and padding "
                         f"({ph}, {pw}) has no output on the {h}x{w} map reaching it; give a larger "
                         f"image_size (or input_variance map), or a scalar input_variance alone for an "
                         f"infinite image")
    return _window_sum(s_map, conv.kernel_size, conv.stride, conv.padding)


def _check_points(points) -> int:
    from .validate import positive_int

    points = positive_int(points, "predicted_propagation points", minimum=2)
    if points > 300:   # numpy's hermegauss loses its weights to overflow beyond ~360 nodes
        raise InvalidValueError(f"predicted_propagation points: expected at most 300, got {points}")
    return points


def _block(index, act, w, weight_var, bias_var, q, m1, m2, d2) -> dict:
    """One conv layer's prediction, from its pre-activation variance map q and the moments
    E[phi], E[phi^2], E[phi'^2] over it ("_q" and "_d2" are kept for the backward pass)."""
    fan_in = int(np.prod(w.shape[1:]))
    return {"index": index, "activation_index": None if act is None else index + 1,
            "fan_in": fan_in, "weight_var": weight_var, "bias_var": bias_var,
            "q": float(q.mean()), "pre_std": float(np.sqrt(q.mean())),
            "act_mean": float(m1.mean()), "act_rms": float(np.sqrt(m2.mean())),
            "act_std": float(np.sqrt(max(m2.mean() - m1.mean() ** 2, 0.0))),
            "chi": float(weight_var * fan_in * d2.mean()), "q_map": q, "_q": q, "_d2": d2}


def predicted_propagation(model_spec_or_model, input_variance, *, image_size=None, points=100) -> list[dict]:
    """The mean-field prediction of each conv layer's pre-activation variance, and what follows.

    For conv layer l with weights of mean square sigma_w^2 (the drawn weights' own mean square,
    so orthogonal, LSUV-rescaled and any other weights are covered), bias mean square
    sigma_b^2, and fan_in = in_channels * kh * kw, the recursion (Poole et al. 2016,
    Schoenholz et al. 2017; He et al. 2015 for ReLU) is

        q_l = sigma_w^2 * fan_in * E[phi(z)^2] + sigma_b^2,   z ~ N(0, q_{l-1})

    with q_0 given by `input_variance` (phi = identity for the input), E[.] by quadrature over
    `points` nodes (see the module's docstring).
    With a scalar `input_variance` and no `image_size` this is exactly that homogeneous
    recursion (an infinite image, or circular padding). With `image_size` (or an (H, W) /
    (C, H, W) map of E[x^2] as `input_variance`) it is run per pixel, summing only the window
    taps that fall inside the zero-padded image, so the border loss of padding is predicted too:
    q_l(p) = sigma_w^2 * sum_{taps t in bounds} C_in E[phi(z_{l-1}(p + t))^2] + sigma_b^2.
    A (C, H, W) map must have the first conv's C input channels; a map sets the image size, so an
    `image_size` that differs from it is an error. A layer whose kernel does not fit the map
    reaching it (no padding, a small image) is a ShapeError naming it.

    Backward, with the usual independence assumption, the variance of the gradient reaching
    block l's output follows G_{l-1} = sigma_w,l^2 * C_out,l * sum_taps E[phi'(z_l)^2] G_l,
    the sum over the windows that cover a pixel: kh*kw / (sh*sw) of them on average on an
    infinite image (a strided layer passes back less); `grad_ratio` is that variance relative
    to the last block's (1 there).

    `model_spec_or_model`: a Sequential, or a dict of `models.plain_cnn` arguments (depth,
    width, activation, weight_init, ...; optional "seed", default 0) built in float64.
    The walk covers the conv/activation stack from the input and stops at the first other
    layer (plain_cnn's global pooling). Returns one dict per conv layer: index (of the conv),
    activation_index (of the activation after it, or None), fan_in, weight_var, q (mean over
    pixels), pre_std = sqrt(q), act_mean, act_std (of phi(z) over the whole map), act_rms,
    chi = sigma_w^2 * fan_in * E[phi'(z)^2] (the per-layer gradient factor; 1 = critical),
    grad_ratio, q_map (the per-pixel q as an (H, W) array; (1, 1) for the homogeneous recursion).
    """
    from .layers import Conv2D

    points = _check_points(points)
    model = _as_model(model_spec_or_model)
    if not model.layers or not isinstance(model.layers[0], Conv2D):
        raise ShapeError("predicted_propagation: the model must start with a Conv2D layer")
    nodes, weights = meanfield.hermite_rule(points)
    s_map, s_scalar = _input_map(input_variance, model.layers[0].in_channels, image_size)
    blocks = []
    for index, conv, act, w, weight_var, bias_var in conv_blocks(model, "predicted_propagation"):
        if s_map is None:
            q = np.array([[weight_var * np.prod(w.shape[2:]) * s_scalar + bias_var]])
        else:
            q = weight_var * _conv_window_sum(s_map, conv, index) + bias_var
        m1, m2, d2 = activation_moments(act, q, nodes, weights)
        blocks.append({**_block(index, act, w, weight_var, bias_var, q, m1, m2, d2), "_conv": conv})
        if s_map is None:
            s_scalar = w.shape[0] * float(m2.mean())
        else:
            s_map = w.shape[0] * m2
    _backward_ratios(blocks, s_map is None)
    return [{key: value for key, value in block.items() if not key.startswith("_")} for block in blocks]


def _backward_ratios(blocks, homogeneous):
    """Fill grad_ratio: gradient variance at each block's output relative to the last block's."""
    if not blocks:
        return
    g = np.ones_like(blocks[-1]["_q"])
    blocks[-1]["grad_ratio"] = 1.0
    for upper, lower in zip(blocks[:0:-1], blocks[-2::-1]):
        conv = upper["_conv"]
        local = upper["_d2"] * g               # variance of the gradient at upper's pre-activation
        scale = upper["weight_var"] * conv.out_channels
        if homogeneous:   # on an infinite image each input lies in kh*kw / (sh*sw) windows on average
            g = scale * np.prod(conv.kernel_size) / np.prod(conv.stride) * local
        else:
            g = scale * _window_sum_adjoint(local, lower["_q"].shape, conv.kernel_size, conv.stride, conv.padding)
        lower["grad_ratio"] = float(g.mean())
