"""The propagate study's claims and prose: mean-field predictions (zero padding included, the
finite-width drift fitted over a width sweep), each with a tolerance from its own uncertainty.

The tolerance of a prediction: twice the 95% half-width of the comparison's own uncertainty,
exp(2 * 1.96 * sqrt(s^2 / n + se^2)), where s is the spread over the n seeds of log(measured /
predicted) and se the standard error the prediction carries (the fitted drift's, for ReLU).
`verdicts.within` then holds when the 95% interval of the geometric mean lies inside it: a
correct prediction holds about 95% of the time, and one that is off by more than about four
standard errors fails.
"""
from __future__ import annotations

import math
import re

import numpy as np

from ..lab import verdicts
from ..lab.claims import Claim

QUESTION = {"en": 'How large a variance?',
            "ja": '分散はどれくらいにすべきか?'}

RELU_INITS = {"std=0.01": ("std 0.01", "標準偏差 0.01"), "std=1": ("std 1", "標準偏差 1"),
              "glorot": ("Glorot", "Glorot"), "he": ("He", "He")}
SPREAD = 3.0          # a single He net lies within this many predicted standard deviations


def tolerance(measured, predicted, se=0.0) -> float:
    """exp(2 * 1.96 * sqrt(s^2 / n + se^2)), s the spread of log(measured / predicted) over seeds
    (NaN with fewer than 2 seeds: the verdict is then inconclusive)."""
    logs = np.log(np.asarray(measured, dtype=np.float64) / np.asarray(predicted, dtype=np.float64))
    if logs.size < 2 or not np.all(np.isfinite(logs)):
        return math.nan
    return float(math.exp(2 * 1.96 * math.sqrt(np.var(logs, ddof=1) / logs.size + se ** 2)))


def drift(result) -> tuple[float, float]:
    """(per-layer log drift at the study's width, its standard error): -c / width, c_se / width."""
    fit, width = result["sweep"]["fit"], result["settings"]["width"]
    return -fit["c"] / width, fit["c_se"] / width


def predicted_factor(result, key) -> list:
    """Per seed: the mean-field per-layer factor (this net's weights, zero padding) times the drift."""
    shift = drift(result)[0] if key.startswith("relu/") else 0.0
    return [f * math.exp(shift) for f in result["summary"][key]["factor_mf"]]


def factor_matches(result, key):
    measured, predicted = result["summary"][key]["factor"], predicted_factor(result, key)
    se = drift(result)[1] if key.startswith("relu/") else 0.0
    return _within(measured, predicted, tolerance(measured, predicted, se), "measured / predicted per-layer variance factor")


def _within(measured, predicted, factor, name):
    """verdicts.within, its tolerance shown in the effect's name."""
    return verdicts.within(measured, predicted, factor, effect_name=f"{name} (tolerance x{factor:.3g})")


def glorot_half_of_he(result):
    s = result["summary"]
    ratio = [g / h for g, h in zip(s["relu/glorot"]["factor"], s["relu/he"]["factor"])]
    half = [0.5] * len(ratio)
    return _within(ratio, half, tolerance(ratio, half), "(Glorot's factor / He's) / 0.5")


def he_spread(result):
    """Each He/ReLU net's log(q_L / q_1) - mean field within SPREAD predicted sds of the drift."""
    fit, width, depth = result["sweep"]["fit"], result["settings"]["width"], result["settings"]["depth"]
    mean = -fit["c"] * (depth - 1) / width
    sd = math.sqrt(fit["v"] * (depth - 1) / width)
    return verdicts.every([abs(d - mean) <= SPREAD * sd for d in result["summary"]["relu/he"]["deviation"]],
                          what=f"a He net within {SPREAD:g} predicted standard deviations")


def saturation_matches(result):
    s = result["summary"]["tanh/std=1"]
    measured, predicted = s["saturated_last"], s["saturated_predicted"]
    return _within(measured, predicted, tolerance(measured, predicted), "measured / predicted saturated fraction")


def lsuv_calibration(result, act):
    fitted = [v for seed in result["configs"][act]["lsuv"]["lsuv_calibration_variance"] for v in seed]
    return verdicts.illustration(max(abs(v - 1) for v in fitted), n=len(result["settings"]["seeds"]),
                                 effect_name="largest |variance - 1| on the calibration batch")


def lsuv_held_out(result, act):
    measured = result["summary"][f"{act}/lsuv"]["last_pre_var"]
    one = [1.0] * len(measured)
    return _within(measured, one, tolerance(measured, one), "last layer's variance on a held-out batch")


def _has(*keys):
    return lambda r: all(k in r["summary"] for k in keys)


def _has_sweep(*keys):
    return lambda r: "sweep" in r and _has(*keys)(r)


def slug(key) -> str:
    """A config key as a format field name: "relu/std=0.01" -> "relu_std_0_01"."""
    return re.sub(r"\W", "_", key)


def _words(result):
    s = result["settings"]
    words = {"depth": s["depth"], "width": s["width"], "data": s["data"], "spread": SPREAD}
    if "sweep" in result:
        fit = result["sweep"]["fit"]
        words.update(c=fit["c"], c_se=fit["c_se"], widths=", ".join(str(w) for w in s["sweep_widths"]),
                     drift=math.exp(drift(result)[0]))
    for key in result["summary"]:
        pred = predicted_factor(result, key) if (not key.startswith("relu/") or "sweep" in result) else None
        if pred:
            words[f"pred_{slug(key)}"] = float(np.exp(np.mean(np.log(pred))))
        words[f"mf_{slug(key)}"] = float(np.exp(np.mean(np.log(result["summary"][key]["factor_mf"]))))
    return words


def _relu_claim(key):
    name = "relu/" + key
    en, ja = RELU_INITS[key]
    return Claim(
        f"relu_factor_{key}",
        en=f"{en}/ReLU: each layer multiplies the variance by the predicted factor {{pred_{slug(name)}:.3g}} (geometric mean "
           f"over layers 1..{{depth}}): mean field with zero padding {{mf_{slug(name)}:.3g}}, times the finite-width drift "
           "exp(-c/{width}) = {drift:.3g} fitted over the width sweep (c = {c:.2f} +- {c_se:.2f})",
        ja=f"{ja}/ReLU: 各層は分散を予測どおり {{pred_{slug(name)}:.3g}} 倍にする(第 1〜{{depth}} 層の幾何平均): ゼロ"
           f"パディング込みの平均場 {{mf_{slug(name)}:.3g}} に、幅スイープで当てはめた有限幅のずれ exp(-c/{{width}}) = "
           "{drift:.3g} を掛けた値(c = {c:.2f} +- {c_se:.2f})",
        rule=lambda r: factor_matches(r, name), words=_words, applies=_has_sweep(name))


CLAIMS = [_relu_claim(key) for key in RELU_INITS] + [
    Claim("glorot_half_of_he",
          en="Glorot/ReLU's per-layer variance factor is half of He's (independent draws; fan_in = fan_out, so "
             "Glorot's 2/(fan_in + fan_out) is half of He's 2/fan_in)",
          ja="Glorot/ReLU の 1 層あたりの分散の倍率は He の半分(独立な乱数。fan_in = fan_out なので Glorot の "
             "2/(fan_in + fan_out) は He の 2/fan_in の半分)",
          rule=glorot_half_of_he, words=_words, applies=_has("relu/glorot", "relu/he")),
    Claim("he_nets_within_spread",
          en="each He/ReLU net (width {width}, {depth} layers) ends within {spread:g} standard deviations of the "
             "finite-width prediction: its log variance drifts below mean field by c (L-1)/width, with a spread "
             "sqrt(v (L-1)/width), both fitted over the width sweep; a single net is a draw, not the average",
          ja="どの He/ReLU ネット(幅 {width}、{depth} 層)も、有限幅の予測から標準偏差 {spread:g} 個分以内に収まる: "
             "その対数分散は平均場から c (L-1)/幅 だけ下にずれ、ばらつきは sqrt(v (L-1)/幅)(どちらも幅スイープで"
             "当てはめた値)。1 つのネットは平均ではなく 1 回の抽選である",
          rule=he_spread, words=_words, applies=_has_sweep("relu/he")),
    Claim("tanh_glorot_factor",
          en="Glorot/tanh: each layer multiplies the variance by the mean-field factor {pred_tanh_glorot:.3g} (zero "
             "padding included; no finite-width correction fitted for tanh) at width {width}",
          ja="Glorot/tanh: 各層は分散を平均場の倍率 {pred_tanh_glorot:.3g} 倍にする(ゼロパディング込み。tanh には"
             "有限幅の補正を当てはめていない)。幅 {width}",
          rule=lambda r: factor_matches(r, "tanh/glorot"), words=_words, applies=_has("tanh/glorot")),
    Claim("tanh_std1_saturates",
          en="std 1/tanh saturates as mean field predicts: the share of layer {depth}'s outputs with |y| > 0.99 "
             "matches P(|z| > atanh 0.99) for z ~ N(0, q_L) with q_L the predicted variance",
          ja="標準偏差 1/tanh は平均場の予測どおり飽和する: 第 {depth} 層の出力のうち |y| > 0.99 の割合は、予測分散 "
             "q_L の z ~ N(0, q_L) での P(|z| > atanh 0.99) に一致する",
          rule=saturation_matches, words=_words, applies=_has("tanh/std=1")),
] + [
    claim for act in ("relu", "tanh") for claim in (
        Claim(f"lsuv_calibration_{act}",
              en=f"LSUV ({act}) brings every layer's output variance to 1 on its own calibration batch "
                 "(true by construction: LSUV rescales until it is)",
              ja=f"LSUV({act})は較正用のバッチ上で各層の出力分散を 1 にする(構成上必ず成り立つ: そうなるまで再スケールする)",
              rule=lambda r, act=act: lsuv_calibration(r, act), applies=_has(f"{act}/lsuv")),
        Claim(f"lsuv_held_out_{act}",
              en=f"LSUV ({act})'s unit variance carries over to a held-out batch: layer {{depth}}'s output variance "
                 "is 1 there too",
              ja=f"LSUV({act})の単位分散は別のバッチにも持ち越される: そのバッチでも第 {{depth}} 層の出力分散は 1",
              rule=lambda r, act=act: lsuv_held_out(r, act), words=_words, applies=_has(f"{act}/lsuv")),
    )
]


def explanation(result, lang="en") -> str:
    """The section's prose for this run (a fact about the run is computed from `result`)."""
    text = EXPLANATION[lang]
    if "sweep" in result and "relu/he" in result.get("summary", {}):
        w = _words(result)
        depth = result["settings"]["depth"]
        w.update(he_total=w["pred_relu_he"] ** (depth - 1), pad=w["mf_relu_he"])
        text += MEASURED[lang].format(**w)
    return text


EXPLANATION = {
    "en": "Even with zero mean, the scale matters. Each layer multiplies the signal's variance by about sigma_w^2 * fan_in * E[phi(z)^2]: below 1 the signal shrinks geometrically with depth, above 1 it explodes (or saturates tanh). Glorot (variance 2/(fan_in+fan_out)) keeps a tanh stack near 1; He (2/fan_in) compensates for ReLU zeroing half the signal; LSUV rescales each layer on real data until its output variance is 1. The lines are measured per layer; the dashed lines are the mean-field prediction. Mean-field theory describes an infinitely wide net; a real net of a few channels is a single draw whose variance drifts below it layer after layer, so the claims below predict both, the drift fitted over a sweep of widths.",
    "ja": '平均が 0 でも、スケールは重要です。各層は信号の分散をおよそ sigma_w^2 * fan_in * E[phi(z)^2] 倍にします。この倍率が 1 より小さければ信号は深さとともに幾何級数的に縮み、大きければ爆発します(tanh なら飽和)。Glorot(分散 2/(fan_in+fan_out))は tanh の積み重ねで 1 付近を保ち、He(2/fan_in)は ReLU が信号の半分を 0 にする分を補います。LSUV は実データ上で各層の出力分散が 1 になるまで重みを再スケールします。実線は層ごとの実測値、破線は平均場理論の予測です。平均場理論が表すのは無限に幅の広いネットワークです。数チャネルの実際のネットワークは 1 回の抽選で、その分散は層を経るごとに理論値より下にずれていきます。そこで以下の主張は両方を予測し、ずれは幅のスイープで当てはめます。',
}
MEASURED = {
    "en": " Measured in this run: zero padding on the {data} images lowers He's mean-field factor from 1 to {pad:.3f} per layer, and the width sweep ({widths} channels) gives c = {c:.2f} +- {c_se:.2f}, a drift of exp(-c/{width}) = {drift:.3f} per layer at width {width}; so a He net's variance is predicted to be multiplied by {pred_relu_he:.3f} per layer, {he_total:.2g} over {depth} layers, not 1.",
    "ja": " この実行での測定: {data} の画像ではゼロパディングのため He の平均場の倍率は 1 層あたり 1 から {pad:.3f} に下がり、幅のスイープ({widths} チャネル)からは c = {c:.2f} +- {c_se:.2f}、幅 {width} では 1 層あたり exp(-c/{width}) = {drift:.3f} のずれが得られました。したがって He のネットの分散は 1 層あたり {pred_relu_he:.3f} 倍、{depth} 層で {he_total:.2g} 倍になると予測され、1 倍ではありません。",
}


# the figures' captions in the Japanese report (the English ones are the figure functions' docstrings)
CAPTIONS_JA = {
    'propagate_activations': '各ブロックの活性化の標準偏差と深さ(対数軸、活性化関数ごと)。破線が理論(ゼロパディングと有限幅のずれを含む)。',
    'propagate_gradients': '各ブロックに届く損失の勾配の標準偏差と深さ。破線が理論(最上層で合わせる)。',
    'propagate_histograms': 'いくつかの深さでの活性化の値のヒストグラム(Glorot & Bengio 2010 の図 6)。tanh の飽和や信号の縮みが見える。',
    'propagate_sweep': '幅の探索: He/ReLU の各ネットの、平均場から見た層あたりの対数分散のずれと 1/幅、当てはめた直線 -c/幅(Hanin & Rolnick 2018)。',
}
