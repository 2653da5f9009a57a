"""The phase study's claims and prose (Schoenholz et al. 2017), decided over seeds."""
from __future__ import annotations

import math

import numpy as np

from ..lab import verdicts
from ..lab.claims import Claim

CRITICAL_FACTOR = 2.0     # the best sigma_w^2 within this factor of the (padded) critical one

QUESTION = {"en": "Exactly where does the signal stop vanishing or exploding? (order, chaos and the critical line)",
            "ja": "信号が消えも爆発もしなくなるのは正確にどこか?(秩序相・カオス相と臨界線)"}


def _cells(result):
    """(sigma_b2, depth, sigma_w2 index, per-seed accuracies, inside the predicted depth scale)."""
    for b, by_depth in result["accuracy"].items():
        six_xi = result["lines"][b]["six_xi_c"]
        for d, rows in by_depth.items():
            for i, per_seed in enumerate(rows):
                limit = math.inf if six_xi[i] is None else six_xi[i]
                yield b, int(d), i, per_seed, int(d) <= limit


def inside_minus_outside(result) -> list:
    """Per seed: mean test accuracy of the cells within 6 xi_c minus that of the cells beyond it."""
    n = len(result["seeds"])
    inside = [[] for _ in range(n)]
    outside = [[] for _ in range(n)]
    for _, _, _, per_seed, within in _cells(result):
        for s, value in enumerate(per_seed):
            (inside if within else outside)[s].append(value)
    if not any(inside) or not any(outside):
        return []
    return [float(np.mean(i)) - float(np.mean(o)) for i, o in zip(inside, outside)]


def trainable_within_depth_scale(result):
    diffs = inside_minus_outside(result)
    if not diffs:
        return verdicts.Verdict(verdicts.INCONCLUSIVE, k=0, n=len(result["seeds"]),
                                why="every cell lies on one side of 6 xi_c: nothing to compare",
                                why_ja="すべてのセルが 6 xi_c の片側にあり、比べるものがない")
    return verdicts.compare(diffs, 0.0, direction="greater", effect="difference",
                            effect_name="accuracy within 6 xi_c - beyond")


def best_sigma_w2(result) -> list:
    """Per seed, at the deepest depth (first sigma_b2): the sigma_w^2 of the most accurate cell
    (the geometric mean of ties)."""
    b = next(iter(result["accuracy"]))
    deepest = max(result["accuracy"][b], key=int)
    rows = np.asarray(result["accuracy"][b][deepest], dtype=np.float64)       # (sigma_w2, seed)
    sigma_w2s = np.asarray(result["settings"]["sigma_w2s"], dtype=np.float64)
    best = []
    for s in range(rows.shape[1]):
        top = rows[:, s] == rows[:, s].max()
        best.append(float(np.exp(np.mean(np.log(sigma_w2s[top])))))
    return best


def best_near_critical(result):
    b = next(iter(result["accuracy"]))
    critical = result["lines"][b]["critical_sigma_w2_padded"]
    best = best_sigma_w2(result)
    return verdicts.within(best, [critical] * len(best), CRITICAL_FACTOR, effect_name="best sigma_w^2 / critical")


def _words(result):
    b = next(iter(result["accuracy"]))
    return {"deep": max(int(d) for d in result["accuracy"][b]), "factor": CRITICAL_FACTOR,
            "critical": result["lines"][b]["critical_sigma_w2_padded"], "b": float(b)}


CLAIMS = [
    Claim("trainable_within_depth_scale",
          en="cells whose depth is within 6 xi_c (the predicted depth scale) train to a higher test accuracy than "
             "cells beyond it, seed by seed",
          ja="深さが 6 xi_c(予測される深さのスケール)以内のセルは、それを超えるセルよりテスト精度が高い(シードごと)",
          rule=trainable_within_depth_scale, words=_words),
    Claim("best_near_critical",
          en="at {deep} layers the most accurate sigma_w^2 lies within a factor {factor:g} of the critical line "
             "(sigma_w^2 = {critical:.3g} at sigma_b^2 = {b:g}, zero padding included), geometric mean over seeds",
          ja="{deep} 層で最も精度の高い sigma_w^2 は臨界線(sigma_b^2 = {b:g} で sigma_w^2 = {critical:.3g}、"
             "ゼロパディング込み)の {factor:g} 倍以内にある(シードの幾何平均)",
          rule=best_near_critical, words=_words),
]


def explanation(result, lang="en") -> str:
    """The section's prose; the grid and the padding gain are this run's."""
    if not result:
        return EXPLANATION[lang].format(gain=float("nan"), depths="", seeds="")
    s = result["settings"]
    return EXPLANATION[lang].format(gain=result["padding_gain"], depths=", ".join(str(d) for d in s["depths"]),
                                    seeds=len(s["seeds"]))


EXPLANATION = {
    "en": "Mean-field theory makes 'not too small, not too large' exact. Each layer maps the variance q of the "
          "pre-activations to sigma_w^2 E[tanh(sqrt(q) z)^2] + sigma_b^2, and a small difference between two inputs "
          "by chi_1 = sigma_w^2 E[tanh'(h)^2]. Below chi_1 = 1 (order) every input ends up with the same signal; "
          "above it (chaos) nearby inputs are torn apart; either way information about the input survives about "
          "xi_c = -1/ln chi_c layers, and a net trains only if its depth is below roughly 6 xi_c (Schoenholz et al. "
          "2017). Each square of the heat map is a tanh conv net of that depth ({depths} layers) and sigma_w^2, trained "
          "briefly over {seeds} seeds; the dashed line is 6 xi_c and the vertical line the critical line. Zero padding "
          "on 8x8 maps passes on only {gain:.3f} of the variance per layer, so the lines are drawn for the effective "
          "variance.",
    "ja": "平均場理論は「小さすぎず大きすぎず」を正確にします。各層は前活性化の分散 q を sigma_w^2 E[tanh(sqrt(q) z)^2] + "
          "sigma_b^2 に写し、2 つの入力の小さな差を chi_1 = sigma_w^2 E[tanh'(h)^2] 倍にします。chi_1 < 1(秩序相)ではどの"
          "入力も同じ信号になり、chi_1 > 1(カオス相)では近い入力が引き離されます。どちらでも入力の情報が残るのは約 "
          "xi_c = -1/ln chi_c 層で、深さがおよそ 6 xi_c より浅いときだけ学習できます(Schoenholz ら 2017)。ヒートマップの"
          "各マスは、その深さ({depths} 層)と sigma_w^2 の tanh 畳み込みネットを {seeds} シードで短く学習させた結果です。"
          "破線が 6 xi_c、縦線が臨界線です。8x8 のマップのゼロパディングは 1 層あたり分散の {gain:.3f} しか伝えないため、"
          "線は実効的な分散で描いています。",
}


def captions(result, lang="en") -> dict:
    """{figure name: what to look at, and what this run shows}."""
    b = next(iter(result["accuracy"]))
    critical = result["lines"][b]["critical_sigma_w2_padded"]
    best = best_sigma_w2(result)
    if lang == "ja":
        return {"phase_diagram": f"各マスはその深さと sigma_w^2 のネットのテスト精度(シードの中央値)。赤線が臨界線 "
                                 f"(sigma_w^2 = {critical:.3g})、白い破線が 6 xi_c。最深で最も精度の高い sigma_w^2 は"
                                 f"シードの中央値で {float(np.median(best)):.3g}。"}
    return {"phase_diagram": f"Each square: the median test accuracy of a net of that depth and sigma_w^2. The red line "
                             f"is the critical line (sigma_w^2 = {critical:.3g}), the white dashed line 6 xi_c; look "
                             f"for the bright region following it. At the deepest depth the best sigma_w^2 was "
                             f"{float(np.median(best)):.3g} (median over seeds)."}
