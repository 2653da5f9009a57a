"""The rules that decide a claim over seeds: holds, fails or inconclusive (floor 6).

Each rule takes the per-seed measurements and returns a `Verdict`: the decision, k of n seeds
that went the claimed way, the p-value where a test applies, the effect with its bootstrap 95%
interval, and one sentence (English and Japanese) on why when it does not hold.

* `paired(a, b)`: a < b (or a > b) seed by seed. A sign test over the seeds that separate
  them (exact; censored runs, None = "not within the budget", still order a pair), or a
  permutation test on the differences. Holds when p < 0.05; fails when the opposite direction
  is significant; otherwise inconclusive, also when there are too few seeds for any p < 0.05.
* `every(flags)`: a deterministic fact (identical filters under a symmetric start): holds only
  if it holds for every seed.
* `within(measured, predicted, factor)`: a theory's number with a tolerance: the geometric
  mean of measured/predicted over seeds, with its interval, must lie inside
  [1/factor, factor]; fails when the interval lies wholly outside; inconclusive when it
  straddles a bound.
* `illustration(...)`: true by construction (the same draws rescaled, a calibration batch):
  shown, never counted as evidence.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass

import numpy as np

from . import stats

HOLDS, FAILS, INCONCLUSIVE, ILLUSTRATION = "holds", "fails", "inconclusive", "illustration"


@dataclass(frozen=True)
class Verdict:
    verdict: str
    k: int
    n: int
    p: float | None = None
    effect: float | None = None
    interval: tuple | None = None
    effect_name: str = ""
    lower_bound: bool = False       # censored runs entered the effect: the true one is at least this
    why: str = ""
    why_ja: str = ""

    def as_dict(self) -> dict:
        out = asdict(self)
        out["interval"] = None if self.interval is None else [float(v) for v in self.interval]
        return out


def _g(value) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3g}"


def _interval(value, budget):
    """A per-seed value as (low, high): a number is exact, None is censored (above `budget`,
    so at least budget + 1), a pair is already an interval."""
    if value is None:
        return (math.inf if budget is None else budget + 1, math.inf)
    if isinstance(value, (tuple, list)):
        return (float(value[0]), float(value[1]))
    return (float(value), float(value))


def _order(a, b, budget):
    """-1 if a < b, +1 if a > b, 0 if they cannot be told apart (equal, both censored, or
    overlapping intervals)."""
    (a_low, a_high), (b_low, b_high) = _interval(a, budget), _interval(b, budget)
    if a_high < b_low:
        return -1
    if a_low > b_high:
        return 1
    return 0


def paired(a, b, *, direction="less", test="sign", effect="ratio", effect_name="", budget=None,
           alpha=stats.ALPHA) -> Verdict:
    """Claim: a_i < b_i (direction "less") or a_i > b_i ("greater"), seed by seed.

    A value is a number, None (censored: not within `budget`) or a (low, high) interval; a
    pair counts for the sign test only when the two are told apart. `effect`: "ratio" (median
    of b/a for "less", a/b for "greater": how many times) or "difference" (median of b - a, or
    a - b), from the intervals' low ends (censored values count as budget + 1): a lower bound
    when the larger side was censored. The permutation test needs exact numbers."""
    if len(a) != len(b):
        raise ValueError(f"paired: {len(a)} values against {len(b)}")
    sign = -1 if direction == "less" else 1
    orders = [_order(x, y, budget) for x, y in zip(a, b)]
    k = sum(o == sign for o in orders)
    m = sum(o == -sign for o in orders)
    n = k + m
    filled_a = [_interval(x, budget)[0] for x in a]
    filled_b = [_interval(y, budget)[0] for y in b]
    big, small = (filled_b, filled_a) if direction == "less" else (filled_a, filled_b)
    censored_big = any(not isinstance(v, numbers.Real) for v in (b if direction == "less" else a))
    censored_small = any(not isinstance(v, numbers.Real) for v in (a if direction == "less" else b))
    if effect == "ratio":
        with np.errstate(divide="ignore", invalid="ignore"):
            per_seed = np.asarray(big, dtype=np.float64) / np.asarray(small, dtype=np.float64)
    else:
        per_seed = np.asarray(big, dtype=np.float64) - np.asarray(small, dtype=np.float64)
    finite = per_seed[np.isfinite(per_seed)]
    value = float(np.median(finite)) if finite.size else None
    interval = stats.bootstrap_interval(finite) if finite.size else None
    if test == "permutation":
        if censored_big or censored_small:
            raise ValueError("paired: the permutation test needs uncensored values; use the sign test")
        diffs = np.asarray(big, dtype=np.float64) - np.asarray(small, dtype=np.float64)
        p, p_reverse = stats.permutation_test(diffs), stats.permutation_test(-diffs)
    else:
        p, p_reverse = stats.sign_test(k, n), stats.sign_test(m, n)
    common = dict(k=k, n=len(orders), effect=value, interval=interval, effect_name=effect_name,
                  lower_bound=censored_big and not censored_small)
    tied = len(orders) - n
    if n == 0:
        return Verdict(INCONCLUSIVE, p=None, why=f"no seed separated the two ({tied} of {len(orders)} tied)",
                       why_ja=f"どのシードでも両者に差がなかった({len(orders)} 中 {tied} が同値)", **common)
    if stats.smallest_p(n) >= alpha and test == "sign":
        return Verdict(INCONCLUSIVE, p=p, why=f"only {n} seeds separated the two: even {n} of {n} would give "
                       f"p = {stats.smallest_p(n):.3g} >= {alpha:g}; more seeds are needed",
                       why_ja=f"差が出たシードは {n} 個だけで、{n} 個すべてが同じ向きでも p = {stats.smallest_p(n):.3g} "
                              f"(>= {alpha:g})にしかならない。より多くのシードが必要", **common)
    if p < alpha:
        return Verdict(HOLDS, p=p, **common)
    if p_reverse < alpha:
        return Verdict(FAILS, p=p, why=f"the opposite held: {m} of {n} seeds went the other way "
                       f"(p = {p_reverse:.2g} for the opposite)",
                       why_ja=f"逆が成り立った: {n} シード中 {m} が逆向き(逆向きの p = {p_reverse:.2g})", **common)
    return Verdict(INCONCLUSIVE, p=p, why=f"{k} of {n} seeds went the claimed way, {m} the other (p = {p:.2g}): "
                   "not significant", why_ja=f"{n} シード中 {k} が主張どおり、{m} が逆(p = {p:.2g}): 有意ではない",
                   **common)


def compare(values, reference, *, direction="greater", **kwargs) -> Verdict:
    """Claim: each value is > reference (or < with direction "less"): `paired` against a constant."""
    values = list(values)
    return paired(values, [reference] * len(values), direction=direction, **kwargs)


def every(flags, *, what="the condition") -> Verdict:
    """Claim: a deterministic fact holds for every seed."""
    flags = [bool(f) for f in flags]
    n, k = len(flags), sum(flags)
    if n == 0:
        return Verdict(INCONCLUSIVE, k=0, n=0, why="no seed was run", why_ja="シードが 1 つも実行されていない")
    if k == n:
        return Verdict(HOLDS, k=k, n=n, effect=1.0, effect_name="share of seeds")
    return Verdict(FAILS, k=k, n=n, effect=k / n, effect_name="share of seeds",
                   why=f"{what} failed in {n - k} of {n} seeds", why_ja=f"{n} シード中 {n - k} で成り立たなかった")


def within(measured, predicted, factor: float, *, effect_name="measured / predicted") -> Verdict:
    """Claim: measured/predicted (positive, one pair per seed) lies within [1/factor, factor].

    Decided on the geometric mean over seeds with its bootstrap 95% interval."""
    ratios = np.asarray(measured, dtype=np.float64) / np.asarray(predicted, dtype=np.float64)
    n = ratios.size
    if n == 0 or not np.all(np.isfinite(ratios)) or np.any(ratios <= 0):
        return Verdict(FAILS if n else INCONCLUSIVE, k=0, n=n, effect_name=effect_name,
                       why="a measurement was not a finite positive number",
                       why_ja="測定値が有限の正の数ではなかった")
    logs = np.log(ratios)
    value = float(np.exp(logs.mean()))
    low, high = (float(np.exp(v)) for v in stats.bootstrap_interval(logs, np.mean))
    k = int(np.sum((ratios >= 1 / factor) & (ratios <= factor)))
    common = dict(k=k, n=n, effect=value, interval=(low, high), effect_name=effect_name)
    band = f"[{1 / factor:.3g}, {factor:.3g}]"
    if low >= 1 / factor and high <= factor:
        return Verdict(HOLDS, **common)
    if high < 1 / factor or low > factor:
        return Verdict(FAILS, why=f"{effect_name} = {value:.3g}, 95% interval [{low:.3g}, {high:.3g}], outside "
                       f"the tolerance {band}", why_ja=f"{effect_name} = {value:.3g}、95% 区間 [{low:.3g}, {high:.3g}] が"
                       f"許容範囲 {band} の外", **common)
    return Verdict(INCONCLUSIVE, why=f"{effect_name} = {value:.3g}, but its 95% interval [{low:.3g}, {high:.3g}] "
                   f"crosses a bound of the tolerance {band}",
                   why_ja=f"{effect_name} = {value:.3g} だが、95% 区間 [{low:.3g}, {high:.3g}] が許容範囲 {band} の"
                          "境界をまたぐ", **common)


def illustration(value=None, *, n=0, effect_name="", why="true by construction: shown, not counted as evidence",
                 why_ja="構成上必ず成り立つ: 図示のみで、証拠には数えない") -> Verdict:
    """A statement that holds by construction: shown, never counted."""
    return Verdict(ILLUSTRATION, k=n, n=n, effect=value, effect_name=effect_name, why=why, why_ja=why_ja)
