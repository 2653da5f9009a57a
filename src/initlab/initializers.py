"""One vocabulary of initializers (floor 5): every name a command or the Python API takes.

Two kinds of names, one list (`names()`, printed by `initlab inits`):

* the registry's schemes, their aliases and spec strings (`initlab.init`): "he_normal",
  "he" and "kaiming" (= he_normal), "glorot"/"xavier" (= glorot_normal), "lecun",
  "orthogonal", "normal(std=0.01)", "he_normal*0.1", ... Every layer draws its own weight.
* the data-dependent ones, which must see the training images first, so they are applied to a
  built model (`apply`): "lsuv" (Mishkin & Matas 2016: orthogonal, then every Conv2D/Dense
  rescaled until its output variance is 1 on a training batch), "patch_kmeans" (Coates & Ng
  2011) and "patch_pca" (Chan et al. 2015): the first conv layer's filters computed from
  training patches, the other layers drawn with the default he_normal.

`check(spec, option)` is what a command calls on its option: an unknown name is an error that
names the option and the nearest names. `cannot_learn(spec)` says why a start can never learn
(every weight equal: the symmetry problem) in one line, or None.
"""
from __future__ import annotations

import difflib
import re

import numpy as np

from . import init, lsuv, patchinit
from .errors import InitlabError, ShapeError, UnknownNameError
from .layers import Conv2D
from .rng import as_generator

__all__ = ["DATA_DEPENDENT", "LSUV_BATCH", "names", "is_data_dependent", "check", "suggest", "layer_spec",
           "apply", "cannot_learn", "catalog"]

DATA_DEPENDENT = init.DATA_DEPENDENT
DEFAULT = "he_normal"       # what the layers of a model draw where a data-dependent init does not reach
LSUV_BATCH = 256            # training images LSUV rescales on (Mishkin & Matas use one mini-batch)

_DATA_ENTRIES = {
    "lsuv": ("orthogonal, then each Conv2D/Dense w <- w / std(output) until Var(output) = 1 on a "
             "training batch", "-", "-", "Mishkin & Matas 2016"),
    "patch_kmeans": ("first conv: k-means centroids of whitened training patches, scaled to output "
                     "variance 1", "-", "-", "Coates & Ng 2011"),
    "patch_pca": ("first conv: leading principal components of training patches (at most C*kh*kw), "
                  "scaled to output variance 1", "-", "-", "Chan et al. 2015 (PCANet)"),
}


def names(aliases: bool = True) -> list[str]:
    """Every initializer name (with the aliases unless aliases=False), data-dependent ones included."""
    return sorted(set(init.names(aliases=aliases)) | set(DATA_DEPENDENT))


def _key(spec) -> str | None:
    """The bare name of a spec string ("he_normal(mode=fan_out)*0.5" -> "he_normal"), lower case."""
    if not isinstance(spec, str):
        return None
    match = re.match(r"\s*([A-Za-z_]\w*)", spec)
    return match[1].lower() if match else None


def is_data_dependent(spec) -> bool:
    """Whether `spec` names an initializer that needs the training images ("lsuv", "patch_pca", ...)."""
    return isinstance(spec, str) and spec.strip().lower() in DATA_DEPENDENT


def suggest(given, choices=None) -> str:
    """"; did you mean 'a', 'b' or 'c'?" with the (at most three) names of `choices` (default:
    every initializer name) nearest to `given`, or "" when none is near."""
    near = difflib.get_close_matches(_key(given) or str(given).lower(), choices or names(), n=3, cutoff=0.5)
    if not near:
        return ""
    quoted = [f"'{n}'" for n in near]
    return "; did you mean " + (quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]) + "?"


def _unknown(spec, option: str) -> UnknownNameError:
    return UnknownNameError(f"{option}: unknown initializer {spec!r}{suggest(spec)} ('initlab inits' lists them all)")


def check(spec, option: str = "init"):
    """`spec` if initlab knows it (a data-dependent name, or anything `init.get` takes); else an
    error that starts with `option` ("--init: ...") and suggests the nearest names."""
    if is_data_dependent(spec):
        return spec
    key = _key(spec)
    if isinstance(spec, str) and (key is None or key not in names()):
        raise _unknown(spec, option)
    try:
        init.get(spec)
    except InitlabError as exc:
        raise type(exc)(f"{option}: {exc}") from None
    return spec


def layer_spec(spec):
    """What each layer draws while a model is built: `spec` itself, or for a data-dependent
    name the default (he_normal), which `apply` then replaces where the data reaches."""
    return DEFAULT if is_data_dependent(spec) else spec


def apply(model, spec, x_train, rng=None):
    """Apply a data-dependent initializer to a built `model` in place, using the images `x_train`
    (N, C, H, W); any other spec leaves the model as it is. Returns the model.

    lsuv: `initlab.lsuv.lsuv` on LSUV_BATCH training images drawn from `rng` (every trainable
    Conv2D/Dense). patch_kmeans/patch_pca: the first Conv2D's filters (`patchinit.from_data`,
    with that layer's padding), patches drawn from `rng`."""
    if not is_data_dependent(spec):
        return model
    name = spec.strip().lower()
    gen = as_generator(rng)
    x_train = np.asarray(x_train)
    if name == "lsuv":
        batch = x_train[np.sort(gen.choice(len(x_train), size=min(len(x_train), LSUV_BATCH), replace=False))]
        lsuv.lsuv(model, batch, rng=gen)
        return model
    first = next((layer for layer in model if isinstance(layer, Conv2D)), None)
    if first is None:
        raise UnknownNameError(f"initializer {name!r} sets the first Conv2D's filters, and the model has none")
    out, c, kh, kw = first.params["weight"].shape
    if name == "patch_pca" and out > c * kh * kw:
        raise ShapeError(f"the model's first conv layer has {out} filters and patch_pca gives at most "
                         f"C*kh*kw = {c * kh * kw} (one per principal component of a {c}x{kh}x{kw} patch); "
                         "use patch_kmeans, or a first layer of fewer filters")
    make = patchinit.from_data(name, x_train, padding=first.padding)
    first.params["weight"][...] = make(first.params["weight"].shape, gen, dtype=first.dtype)
    first.init_names["weight"] = name
    return model


def cannot_learn(spec, option: str = "init") -> str | None:
    """One line saying why a start from `spec` cannot learn, or None: every weight equal
    (zeros, ones, constant, normal(std=0)) gives every filter of a layer the same gradient, so
    the filters stay identical for ever (the symmetry problem); with zeros nothing flows at all."""
    if is_data_dependent(spec):
        return None
    try:
        resolved = init.get(spec)
    except (InitlabError, ValueError, TypeError):
        return None
    if not isinstance(resolved, init.Initializer) or not isinstance(resolved.source, str):
        return None
    probe = resolved((4, 4, 3, 3), 0, dtype=np.float64)
    if np.ptp(probe) != 0:
        return None
    what = f"{option} {init.describe(spec)}"
    if not probe.any():
        return (f"{what}: every weight starts at 0, so no gradient reaches the hidden filters and this run "
                "cannot learn (the symmetry problem: see 'initlab symmetry')")
    return (f"{what}: every weight starts equal, so each layer's filters get equal gradients and stay identical: "
            "this run learns at best like a net one filter wide (the symmetry problem: see 'initlab symmetry')")


def catalog() -> list[dict]:
    """One row per initializer: name, aliases, formula, fan mode, gain, reference, and whether
    it is data-dependent (it needs the training images)."""
    aliases: dict[str, list[str]] = {}
    for alias in init.names(aliases=True):
        canonical = init.get(alias).source if alias not in init.names() else alias
        if alias != canonical:
            aliases.setdefault(canonical, []).append(alias)
    rows = []
    for name in init.names():
        formula, fan, gain, reference = init.ENTRIES[name]
        rows.append(dict(name=name, aliases=sorted(aliases.get(name, [])), formula=formula, fan=fan, gain=gain,
                         reference=reference, data_dependent=False))
    for name in DATA_DEPENDENT:
        formula, fan, gain, reference = _DATA_ENTRIES[name]
        rows.append(dict(name=name, aliases=[], formula=formula, fan=fan, gain=gain, reference=reference,
                         data_dependent=True))
    return rows
