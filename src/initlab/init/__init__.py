"""Initializers: how a layer's weights are chosen before training starts.

Floor 1 (NumPy and the standard library only).

Every initializer is a function ``name(shape, rng=None, *, dtype=np.float32, **params)``
returning a new array of exactly that shape and dtype. Conventions (docs/architecture.md):

- dense weights are ``(out_features, in_features)``; conv weights are
  ``(out_channels, in_channels / groups, *kernel)`` for 1-, 2- and 3-D kernels;
- ``rng`` is a ``np.random.Generator``, an int seed or None (see ``initlab.rng``); nothing
  here touches NumPy's global random state;
- samples are drawn in float64 and then cast, so one seed gives the same bits every time, and
  the float32 result is the float64 result rounded.

Why random at all? A layer whose filters all start equal (``zeros``, ``constant``) receives
equal gradients for each of them, so they stay equal for ever: the *symmetry problem*. Random
draws break the tie. Why zero mean and why *that* variance? So that the signal neither drifts
to one side nor grows or shrinks layer after layer: ``Var(w) = gain**2 / fan`` keeps
``Var(output) = Var(input)`` (LeCun 1998, Glorot & Bengio 2010, He et al. 2015).

``get(spec)`` turns a name, an alias, a spec string such as ``"normal(std=0.01)"``, a callable
or an array into an initializer; ``initialize(spec, shape, rng)`` draws one weight.

The package in its rooms: ``fans.py`` (fans and gains), ``schemes.py`` (the constant, random
and variance-scaled initializers), ``structured.py`` (orthogonal, dirac, delta-orthogonal,
sparse), ``checks.py`` (the checks they share), ``meanfield.py`` (the critical line),
``registry.py`` (names, spec strings, ``get``/``initialize``/``describe``/``scaled``) and
``catalog.py`` (each scheme's formula, fan mode, gain, reference, and ``target_std``);
everything is offered here, as ``initlab.init.<name>``.
"""
from .fans import calculate_gain, compute_fans, gain_for
from .registry import (DATA_DEPENDENT, FAN_SCALED, Initializer, describe, get, initialize, is_fan_scaled,
                       names, scaled)
from .catalog import ENTRIES, target_std
from .schemes import (constant, delta_orthogonal, dirac, glorot_normal, glorot_uniform, he_normal,
                      he_uniform, identity, kaiming_normal, kaiming_uniform, lecun_normal,
                      lecun_uniform, normal, ones, orthogonal, pytorch_conv_default, sparse,
                      truncated_normal, truncated_std, uniform, variance_scaling, xavier_normal,
                      xavier_uniform, zeros)

__all__ = [
    "compute_fans", "calculate_gain", "gain_for", "truncated_std",
    "zeros", "ones", "constant", "uniform", "normal", "truncated_normal",
    "glorot_uniform", "glorot_normal", "xavier_uniform", "xavier_normal",
    "he_uniform", "he_normal", "kaiming_uniform", "kaiming_normal",
    "lecun_uniform", "lecun_normal", "variance_scaling", "orthogonal", "identity", "dirac",
    "delta_orthogonal", "sparse", "pytorch_conv_default",
    "Initializer", "get", "initialize", "describe", "names", "scaled", "FAN_SCALED", "is_fan_scaled",
    "DATA_DEPENDENT", "ENTRIES", "target_std",
]
