"""Initializers by name (floor 1): the registry, spec strings such as "normal(std=0.01)" or
"he_normal*0.1" (parsed with ast, never evaluated), `get`, `initialize`, `describe`, `scaled`.
"""
from __future__ import annotations

import ast
import inspect
from typing import Callable

import numpy as np

from ..errors import InvalidValueError, ShapeError, UnknownNameError, unknown_name
from ..validate import as_float_array, real_number
from .fans import _as_dtype, _as_shape
from .meanfield import critical
from .schemes import _finite
from .schemes import (constant, delta_orthogonal, dirac, glorot_normal, glorot_uniform, he_normal,
                      he_uniform, identity, lecun_normal, lecun_uniform, normal, ones, orthogonal,
                      pytorch_conv_default, sparse, truncated_normal, uniform, variance_scaling, zeros)


# ---------------------------------------------------------------------------------------------
# registry, spec strings, and the public lookups
# ---------------------------------------------------------------------------------------------

_SCHEMES: dict[str, Callable] = {f.__name__: f for f in (
    zeros, ones, constant, uniform, normal, truncated_normal, glorot_uniform, glorot_normal,
    he_uniform, he_normal, lecun_uniform, lecun_normal, variance_scaling, orthogonal,
    identity, dirac, delta_orthogonal, sparse, pytorch_conv_default,
)}
# critical initialization (mean field, issue 15) lives in meanfield.py with its quadrature
_SCHEMES[critical.__name__] = critical
_ALIASES = {
    "xavier_uniform": "glorot_uniform", "xavier_normal": "glorot_normal",
    "kaiming_uniform": "he_uniform", "kaiming_normal": "he_normal",
    "trunc_normal": "truncated_normal", "eye": "identity", "zero": "zeros", "one": "ones",
    "random_uniform": "uniform", "random_normal": "normal", "pytorch_default": "pytorch_conv_default",
    # the short names the studies and the command line use: the normal variant of each family
    "glorot": "glorot_normal", "xavier": "glorot_normal", "he": "he_normal", "kaiming": "he_normal",
    "lecun": "lecun_normal",
}
# initializers that need the training images, so a layer alone cannot draw them; they live on
# floor 5 (initlab.lsuv, initlab.patchinit) and `initlab.initializers` applies them to a model
DATA_DEPENDENT = ("lsuv", "patch_kmeans", "patch_pca")

_LAYER_FACTS = ("groups", "transposed")  # what a layer knows about its weight, not a user choice
_PROBE = {"identity": (4, 4), "dirac": (4, 4, 3, 3)}
_MAX_SPEC = 500
_MAX_SPEC_DEPTH = 16       # 'normal(std=-0.01)*2' is 6 deep


def _parameters(name: str) -> list[str]:
    """The keyword parameters a scheme takes (dtype excluded: it is a call argument)."""
    sig = inspect.signature(_SCHEMES[name])
    return [p for p, v in sig.parameters.items() if v.kind is v.KEYWORD_ONLY and p != "dtype"]


# the schemes whose variance is set from the weight's fans (Glorot, He, LeCun and their kin)
FAN_SCALED = frozenset({"glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform",
                        "lecun_normal", "variance_scaling", "pytorch_conv_default"})


def is_fan_scaled(spec) -> bool:
    """Whether `spec` draws with a variance set from the weight's fans, at that variance (no
    factor): "he_normal", "glorot_uniform(gain=2)" yes; "normal(std=0.01)", "he_normal*0.1" no."""
    resolved = get(spec)
    return (isinstance(resolved, Initializer) and isinstance(resolved.source, str)
            and resolved.source in FAN_SCALED and resolved.factor == 1)


def names(aliases: bool = False) -> list[str]:
    """The canonical initializer names (and the aliases too, with ``aliases=True``), sorted."""
    return sorted(set(_SCHEMES) | (set(_ALIASES) if aliases else set()))


def _canonical(name: str) -> str:
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key in DATA_DEPENDENT:
        raise UnknownNameError(
            f"initializer {name!r} is data-dependent: it needs the training images, so a layer cannot "
            f"draw it alone; apply it to a built model with initlab.initializers.apply(model, {key!r}, "
            f"x_train) (or `initlab train --init {key}`)")
    if key not in _SCHEMES:
        raise unknown_name("initializer", name, names(aliases=True))
    return key


def _format_value(value) -> str:
    """A parameter value as the spec syntax writes it: bare words unquoted, numbers by repr."""
    if isinstance(value, str) and value.isidentifier() and value not in ("True", "False", "None"):
        return value
    return repr(value)


def _parse(spec: str) -> tuple[str, dict, float]:
    """Parse ``name``, ``name(key=value, ...)``, each optionally followed by ``*factor``.

    Only the syntax tree is built (never evaluated); values go through ``ast.literal_eval``,
    and a bare word (``mode=fan_out``) is read as the string "fan_out".
    """
    text = spec.strip()
    if not text or len(text) > _MAX_SPEC:
        raise InvalidValueError(
            f"initializer spec: expected 'name' or 'name(key=value, ...)' of at most {_MAX_SPEC} "
            f"characters, got {spec!r}"
        )
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError as exc:
        raise InvalidValueError(
            f"initializer spec {spec!r} is malformed ({exc.msg}); expected e.g. 'normal(std=0.01)'"
        ) from None
    except ValueError as exc:      # text Python cannot encode: a lone surrogate, a NUL
        raise InvalidValueError(f"initializer spec {spec!r} is not valid text ({exc})") from None
    except (RecursionError, MemoryError):
        node = None
    if node is None or _depth(node) > _MAX_SPEC_DEPTH:
        # literal_eval and unparse recurse: ~330 unary minus signs were a RecursionError
        shown = repr(spec) if len(spec) <= 60 else repr(spec[:60]) + "..."
        raise InvalidValueError(f"initializer spec {shown}: nested deeper than {_MAX_SPEC_DEPTH} "
                                "levels; expected e.g. 'normal(std=0.01)'")
    factor = 1.0
    while isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        factor *= _factor(_literal(node.right, spec), spec)
        node = node.left
    if isinstance(node, ast.Name):
        return node.id, {}, factor
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        raise InvalidValueError(
            f"initializer spec {spec!r} is malformed; expected 'name', 'name(key=value, ...)' "
            f"or either followed by '*factor', e.g. 'he_normal(mode=fan_out)*0.5'"
        )
    _canonical(node.func.id)
    if node.args:
        raise InvalidValueError(
            f"initializer spec {spec!r}: write parameters as key=value, e.g. 'constant(value=0.1)'"
        )
    params = {}
    for kw in node.keywords:
        if kw.arg is None:
            raise InvalidValueError(f"initializer spec {spec!r}: '**' is not allowed")
        if kw.arg in params:
            raise InvalidValueError(f"initializer spec {spec!r} is malformed: {kw.arg!r} is given twice")
        params[kw.arg] = _literal(kw.value, spec)
    return node.func.id, params, factor


def _depth(tree: ast.AST) -> int:
    """The depth of a syntax tree, walked without recursion."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def _literal(node: ast.AST, spec: str):
    if isinstance(node, ast.Name):
        return node.id
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise InvalidValueError(
            f"initializer spec {spec!r}: {ast.unparse(node)!r} is not a literal value "
            f"(numbers, quoted strings, True/False/None, or a bare word)"
        ) from None


def _factor(value, what) -> float:
    return real_number(value, f"initializer scale factor in {what!r}", low=0.0)


class Initializer:
    """A resolved initializer: a registered scheme with bound parameters (or a callable, or an
    array), times a `factor`. Call it as ``init(shape, rng=None, *, dtype=np.float32)``.

    Layers may also pass ``groups=`` and ``transposed=`` (facts about their weight); they reach
    the schemes that use them (the fan-based ones, and dirac's groups) and are ignored otherwise.
    """

    def __init__(self, source, params: dict | None = None, factor: float = 1.0):
        self.source = source  # canonical name, a callable, or an ndarray
        self.params = dict(params or {})
        self.factor = float(factor)

    @property
    def name(self) -> str:
        if isinstance(self.source, str):
            return self.source
        if isinstance(self.source, np.ndarray):
            return "<array>"
        return f"<callable {getattr(self.source, '__name__', type(self.source).__name__)}>"

    @property
    def spec(self) -> str:
        """The canonical spec string, e.g. ``he_normal(mode=fan_out)*0.1``; get(spec) rebuilds it."""
        text = self.name
        if self.params:
            text += "(" + ", ".join(f"{k}={_format_value(v)}" for k, v in self.params.items()) + ")"
        if self.factor != 1.0:
            text += f"*{self.factor!r}"
        return text

    def __call__(self, shape, rng=None, *, dtype=np.float32, groups=None, transposed=None) -> np.ndarray:
        dtype = _as_dtype(dtype, f"initializer {self.name}: dtype")
        # scale in float64 and round once, so a scaled float32 draw is the float64 one rounded
        draw = dtype if self.factor == 1.0 else np.dtype(np.float64)
        if isinstance(self.source, str):
            params = dict(self.params)
            facts = {"groups": groups, "transposed": transposed}
            allowed = _parameters(self.source)
            params.update({k: v for k, v in facts.items() if v is not None and k in allowed})
            w = _SCHEMES[self.source](shape, rng, dtype=draw, **params)
        elif isinstance(self.source, np.ndarray):
            w = _from_array(self.source, shape, draw)
        else:
            w = _from_callable(self.source, shape, rng, draw)
        if self.factor == 1.0:
            return w
        return _finite(lambda: w * self.factor, dtype, f"initializer {self.spec}", f"factor {self.factor:g}")

    def __repr__(self) -> str:
        return f"Initializer({self.spec!r})"

    def __eq__(self, other) -> bool:
        if not isinstance(other, Initializer):
            return NotImplemented
        if isinstance(self.source, str) and isinstance(other.source, str):
            return self.spec == other.spec
        return self is other

    def __hash__(self) -> int:
        return hash(self.spec) if isinstance(self.source, str) else id(self)


def _bind(name: str, params: dict, factor: float, spec) -> Initializer:
    """Check the parameter names, then the values by drawing a tiny probe sample."""
    canonical = _canonical(name)
    allowed = _parameters(canonical)
    for key in params:
        if key not in allowed:
            if not allowed:
                raise InvalidValueError(f"initializer {canonical} takes no parameters, got {key!r} in {spec!r}")
            raise unknown_name(f"parameter of {canonical}", key, allowed)
    # the layer facts are checked for their kind here, against a weight's shape when drawn
    if "groups" in params and not (type(params["groups"]) is int and params["groups"] >= 1):
        raise InvalidValueError(f"{canonical} groups: expected an integer >= 1, got {params['groups']!r}")
    if "transposed" in params and not isinstance(params["transposed"], bool):
        raise InvalidValueError(f"{canonical} transposed: expected True or False, got {params['transposed']!r}")
    probe = {k: v for k, v in params.items() if k not in _LAYER_FACTS}
    _SCHEMES[canonical](_PROBE.get(canonical, (4, 4, 3, 3)), 0, dtype=np.float64, **probe)
    return Initializer(canonical, params, factor)


def get(spec) -> Callable:
    """Resolve `spec` into an initializer ``f(shape, rng=None, *, dtype=np.float32)``.

    `spec` may be a registered name or alias ("he_normal", "kaiming_normal"), a spec string
    with keyword parameters and an optional factor ("normal(std=0.01)", "he_normal(mode=fan_out)",
    "truncated_normal(std=0.02, a=-0.04, b=0.04)", "he_normal*0.1"), an ``Initializer``,
    an array (returned, copied, for a weight of exactly its shape), or a callable. A user's
    callable is returned as is; one of this module's own functions becomes its ``Initializer``.
    Parameters are checked now, so a bad spec fails here, not when a model is built.
    """
    if isinstance(spec, Initializer):
        return spec
    if isinstance(spec, str):
        name, params, factor = _parse(spec)
        return _bind(name, params, factor, spec)
    if isinstance(spec, np.ndarray):
        return Initializer(as_float_array(spec, "initializer array").copy())
    if callable(spec):
        own = getattr(spec, "__name__", None)
        if own in _SCHEMES and _SCHEMES[own] is spec:
            return Initializer(own)
        return spec
    raise InvalidValueError(
        f"initializer: expected a name, a spec string, a callable or an array, got {type(spec).__name__}"
    )


def _from_array(array: np.ndarray, shape, dtype) -> np.ndarray:
    shape = _as_shape(shape, "initializer array: shape")
    array = as_float_array(array, "initializer array")
    if array.shape != shape:
        raise ShapeError(f"initializer array: expected shape {shape}, got an array of shape {array.shape}")
    return _finite(lambda: array, dtype, "initializer array")     # astype copies


def _from_callable(fn, shape, rng, dtype) -> np.ndarray:
    who = f"initializer {getattr(fn, '__name__', type(fn).__name__)}"
    shape = _as_shape(shape, f"{who}: shape")
    try:
        out = fn(shape, rng, dtype=dtype)
    except TypeError as exc:
        raise InvalidValueError(
            f"{who}: calling it as fn(shape, rng, dtype={np.dtype(dtype).name}) failed ({exc}); an "
            "initializer callable takes (shape, rng=None, *, dtype=np.float32)") from exc
    if not isinstance(out, np.ndarray):
        raise ShapeError(f"{who}: expected it to return an ndarray of shape {shape}, got {type(out).__name__}")
    if out.shape != shape:
        raise ShapeError(f"{who}: expected it to return shape {shape}, got shape {out.shape}")
    out = as_float_array(out, f"{who} output")
    if out.dtype == dtype:
        return out
    return _finite(lambda: out, dtype, who)


def initialize(spec, shape, rng=None, *, dtype=np.float32, groups=None, transposed=None) -> np.ndarray:
    """Draw one weight of `shape` from `spec` (anything `get` takes, or an array of that shape).

    The result has exactly `shape` and `dtype`. A callable's output is checked for its shape
    and cast to `dtype`; an array is shape-checked and copied. ``groups``/``transposed``
    describe the weight (see ``compute_fans``); they reach the registered schemes that use them.
    """
    init = get(spec)
    if isinstance(init, Initializer):
        return init(shape, rng, dtype=dtype, groups=groups, transposed=transposed)
    return _from_callable(init, shape, rng, _as_dtype(dtype, "initialize: dtype"))


def describe(spec) -> str:
    """A short JSON-able description: "he_normal", "normal(std=0.01)", "he_normal*0.1",
    "<callable NAME>" for a user's callable, "<array>" for an array."""
    init = get(spec)
    if isinstance(init, Initializer):
        return init.spec
    return f"<callable {getattr(init, '__name__', type(init).__name__)}>"


def scaled(spec, factor: float) -> Initializer:
    """An initializer whose output is ``factor *`` that of `spec` (``describe``: "he_normal*0.1").

    For a zero-mean scheme this multiplies the std by exactly `factor` (Var(c w) = c**2 Var(w)),
    which is how "init_scale" sweeps the variance while keeping the distribution's shape.
    """
    factor = _factor(factor, f"scaled(..., factor={factor!r})")
    init = get(spec)
    if isinstance(init, Initializer):
        return Initializer(init.source, init.params, init.factor * factor)
    return Initializer(init, None, factor)
