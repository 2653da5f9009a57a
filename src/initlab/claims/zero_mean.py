"""The zero-mean study's claims and prose, decided over seeds.

Where theory gives a number the claim is the prediction with a tolerance (`verdicts.within`):
the per-layer drift of the mean activation against s a C lambda (s sqrt(6 fan_in) corrected for
zero padding), the shift where the drift sets in, and He's factor for the centred init. What
training does is a paired comparison by seed (every run at one seed has the same uniform draws
and the same batches). That every unit fires under U(0, 2a) holds by construction (every weight
>= 0): an illustration.
"""
from __future__ import annotations

import math

import numpy as np

from ..lab import verdicts
from ..lab.claims import Claim

QUESTION = {"en": 'Why zero mean?',
            "ja": 'なぜ平均を 0 にするのか?'}

DRIFT_TOLERANCE = 1.05     # measured/predicted drift at large shifts: seeds spread by < 1%, the transient ~1%
ONSET_TOLERANCE = 1.10     # measured/predicted onset shift
CENTRED_TOLERANCE = 1.10   # centred per-layer factor vs He's with padding: width 16 drifts ~ 1/width per layer
LARGE = 3.0                # shifts >= LARGE * s_c are in the regime where the mean term dominates
SMALL = 1.0 / 3.0          # shifts <= SMALL * s_c are below the onset


def explanation(result, lang="en") -> str:
    """The section's prose for this run (a fact about the run is computed from `result`)."""
    text = EXPLANATION[lang]
    theory = (result or {}).get("theory")
    if theory:
        text += " " + ONSET[lang].format(onset=theory["onset"], plain=theory["onset_no_padding"],
                                         factor=theory["factor_per_unit_shift"],
                                         plain_factor=theory["factor_per_unit_shift_no_padding"])
    return text


EXPLANATION = {
    "en": "With zero-mean weights every unit's pre-activation is zero on average, whatever the inputs do: no unit is favoured, and the signal stays centred as it goes deeper. Shift the same distribution off zero (same variance, mean s a) and, since ReLU outputs are never negative, each layer adds a push in one direction: the activation mean drifts geometrically with depth, nearly every unit fires together, the first logits are huge, and training is slower or fails. The inputs matter too (LeCun et al. 1998): when every input is positive, every weight of a unit receives a gradient of the same sign from each example, so the weights can only move together and the descent zig-zags; centring the inputs removes that.",
    "ja": "重みの平均が 0 なら、入力がどうであれ、どのユニットの前活性化(活性化関数に入る前の値)も平均 0 で、特定のユニットが優遇されず、深い層に進んでも信号は 0 を中心としたままです。同じ分散のまま分布を 0 からずらす(平均 s a)と、ReLU の出力は負にならないため、各層が一方向への押し上げを加え、活性化の平均が深さとともに幾何級数的にずれていき、ほぼすべてのユニットが一斉に発火し、最初のロジットは巨大になり、学習が遅くなるか失敗します。入力も重要です(LeCun ら 1998): 入力がすべて正だと、1 つの例からユニットのすべての重みが同じ符号の勾配を受けるため、重みは揃ってしか動けず、降下がジグザグになります。入力を中心化するとこれがなくなります。",
}

ONSET = {
    "en": "Theory for this run: once the mean term dominates, each layer multiplies the mean activation by s x {factor:.3g} (s sqrt(6 fan_in) = s x {plain_factor:.3g} on an unbounded map; zero padding on these small maps lowers it), so the drift sets in near the shift s_c = {onset:.3g} ({plain:.3g} without the padding correction).",
    "ja": "この実行での理論値: 平均の項が支配的になると、各層は活性化の平均を s x {factor:.3g} 倍にします(境界のない画像では s sqrt(6 fan_in) = s x {plain_factor:.3g}。この小さな画像ではゼロパディングのため小さくなる)。そのためずれは s_c = {onset:.3g}(パディングの補正なしでは {plain:.3g})付近のずらし幅から始まります。",
}


# --------------------------------------------------------------------------- measurements

def growth(result, shift) -> list:
    return result["sweep"]["growth"][f"{shift:g}"]


def large_shifts(result) -> list:
    return [s for s in result["sweep"]["shifts"] if s >= LARGE * result["theory"]["onset"]]


def small_shifts(result) -> list:
    return [s for s in result["sweep"]["shifts"] if 0 < s <= SMALL * result["theory"]["onset"]]


def _positive(values):
    """NaN (a dead net: no ratio) becomes 0, which `within` refuses as not a positive number."""
    return [0.0 if v is None or not math.isfinite(v) else v for v in values]


def drift_per_layer(result, theory=None):
    """At the study's shift: the measured per-layer growth of the mean ReLU output against
    shift * a C lambda, per seed."""
    theory = theory or result["theory"]
    shift = result["settings"]["shift"]
    measured = _positive(growth(result, shift))
    return verdicts.within(measured, [shift * theory["factor_per_unit_shift"]] * len(measured), DRIFT_TOLERANCE,
                           effect_name="measured / predicted growth per layer")


def onset(result, theory=None):
    """s_c per seed: the median over the large swept shifts of s / growth(s) (where the line
    growth = s / s_c of the mean-dominated regime reaches 1), against 1 / (a C lambda)."""
    theory = theory or result["theory"]
    per_shift = np.array([[s / g if g else 0.0 for g in growth(result, s)]
                          for s in large_shifts(result)])                          # shifts x seeds
    measured = np.median(per_shift, axis=0).tolist()
    return verdicts.within(measured, [theory["onset"]] * len(measured), ONSET_TOLERANCE,
                           effect_name="measured / predicted onset shift")


def below_onset(result):
    """At the largest swept shift below s_c / 3: the growth per layer over the centred one's
    (same uniform draws), per seed, against 1."""
    shift = max(small_shifts(result))
    ratios = _positive([g / c if g and c else None for g, c in zip(growth(result, shift), growth(result, 0.0))])
    return verdicts.within(ratios, [1.0] * len(ratios), ONSET_TOLERANCE + 0.15,
                           effect_name=f"growth at s = {shift:g} / growth at s = 0")


def centred_factor(result, theory=None):
    theory = theory or result["theory"]
    measured = _positive(growth(result, 0.0))
    return verdicts.within(measured, [theory["centred_factor"]] * len(measured), CENTRED_TOLERANCE,
                           effect_name="measured / He's factor with padding")


def all_fire(result):
    active = [layers[-1] for layers in result["propagation"]["shifted"]["active"]]
    return verdicts.illustration(min(active), n=len(active), effect_name="fraction firing in the last layer (min)",
                                 why="every weight of U(0, 2a) is >= 0, so past the first layer every pre-activation "
                                     "is >= 0 by construction: shown, not counted as evidence",
                                 why_ja="U(0, 2a) の重みはすべて 0 以上なので、第 1 層より先の前活性化は構成上すべて 0 以上: "
                                        "図示のみで、証拠には数えない")


def _finite(values):
    return [math.inf if v is None else v for v in values]


def first_loss(result):
    t = result["training"]
    return verdicts.paired(_finite(t["shifted"]["initial_loss"]), _finite(t["centred"]["initial_loss"]),
                           direction="greater", effect="ratio", effect_name="shifted's first loss / centred's")


def shifted_behind(result):
    t = result["training"]
    return verdicts.paired(t["centred"]["final_test_acc"], t["shifted"]["final_test_acc"], direction="greater",
                           effect="difference", effect_name="test accuracy, centred - shifted")


def dead_relus(result):
    t = result["training"]
    last = {n: [a[-1] for a in t[n]["active_after"]] for n in ("centred", "shifted")}
    return verdicts.paired(last["shifted"], last["centred"], direction="less", effect="difference",
                           effect_name="fraction firing in the last conv layer, centred - shifted")


def one_sided(result):
    r = result["input_runs"]
    return verdicts.paired(r["pixels"]["one_sidedness"], r["centred"]["one_sidedness"], direction="greater",
                           test="permutation", effect="ratio", effect_name="pixels' |mean|/std over centred's")


def gradient_signs(result):
    r = result["input_runs"]
    return verdicts.paired(r["pixels"]["sign_fraction"], r["centred"]["sign_fraction"], direction="greater",
                           test="permutation", effect="difference",
                           effect_name="share of one sign, pixels - centred")


def before_pixels(result, name):
    r = result["input_runs"]
    return verdicts.paired(r[name]["steps_to_threshold"], r["pixels"]["steps_to_threshold"], direction="less",
                           budget=result["settings"]["steps"], effect_name=f"pixels' steps / {name}'s")


# --------------------------------------------------------------------------- the catalogue

def _words(result):
    s, theory = result["settings"], result["theory"]
    small = small_shifts(result)
    return {"shift": s["shift"], "factor": s["shift"] * theory["factor_per_unit_shift"],
            "plain": s["shift"] * theory["factor_per_unit_shift_no_padding"], "onset": theory["onset"],
            "onset_plain": theory["onset_no_padding"], "drift_tol": DRIFT_TOLERANCE, "onset_tol": ONSET_TOLERANCE,
            "below_tol": ONSET_TOLERANCE + 0.15, "centred_tol": CENTRED_TOLERANCE, "centred": theory["centred_factor"],
            "depth": len(result["layers"]), "steps": s["steps"], "train_depth": s["train_depth"], "train_width": s["train_width"],
            "small": max(small) if small else 0, "sign_steps": s["sign_steps"], "fraction": s["fraction"],
            "large": ", ".join(f"{v:g}" for v in large_shifts(result))}


def _trained(*names):
    return lambda r: all(n in r["training"] for n in names)


def _inputs(*names):
    return lambda r: all(n in r["input_runs"] for n in names)


def _swept(shift):
    return lambda r: f"{shift:g}" in r["sweep"]["growth"]


CLAIMS = [
    Claim("drift_per_layer",
          en="shift s = {shift:g}: each layer multiplies the mean ReLU output by s a C lambda = {factor:.3g} "
             "(s sqrt(6 fan_in) = {plain:.3g} corrected for zero padding), measured over layers 2..{depth} at init, "
             "within a factor {drift_tol:g}",
          ja="ずらし幅 s = {shift:g}: 初期化時、各層は ReLU 出力の平均を s a C lambda = {factor:.3g} 倍にする"
             "(s sqrt(6 fan_in) = {plain:.3g} をゼロパディングで補正した値。第 2..{depth} 層で測定、{drift_tol:g} 倍以内)",
          rule=drift_per_layer, words=_words,
          applies=lambda r: _swept(r["settings"]["shift"])(r) and r["settings"]["shift"] >= LARGE * r["theory"]["onset"]),
    Claim("drift_onset",
          en="the drift sets in at the shift s_c = 1 / (a C lambda) = {onset:.3g} (1/sqrt(6 fan_in) = {onset_plain:.3g} "
             "without the padding correction): s / growth per layer at the large shifts ({large}) gives it within "
             "a factor {onset_tol:g}",
          ja="ずれが始まるずらし幅は s_c = 1 / (a C lambda) = {onset:.3g}(パディングの補正なしでは 1/sqrt(6 fan_in) = "
             "{onset_plain:.3g}): 大きなずらし幅({large})での s / 1 層あたりの倍率が {onset_tol:g} 倍以内でこれに一致する",
          rule=onset, words=_words, applies=lambda r: bool(large_shifts(r))),
    Claim("no_drift_below_onset",
          en="below the onset (s = {small:g} <= s_c / 3) the mean grows per layer as under the centred init "
             "(same draws), within a factor {below_tol:g}",
          ja="ずれの始まりより下(s = {small:g} <= s_c / 3)では、平均の 1 層あたりの倍率は平均 0 の初期値(同じ乱数)と"
             "{below_tol:g} 倍以内で同じ",
          rule=below_onset, words=_words, applies=lambda r: bool(small_shifts(r)) and _swept(0.0)(r)),
    Claim("centred_factor",
          en="centred init: the mean ReLU output changes per layer by He's factor with zero padding, "
             "sqrt(lambda / 9) = {centred:.3g}, within a factor {centred_tol:g} (no drift)",
          ja="平均 0 の初期値: ReLU 出力の平均の 1 層あたりの倍率は、ゼロパディングを含めた He の倍率 "
             "sqrt(lambda / 9) = {centred:.3g} に {centred_tol:g} 倍以内で一致する(ずれない)",
          rule=centred_factor, words=_words, applies=_swept(0.0)),
    Claim("shifted_all_fire",
          en="shift s = {shift:g} (every weight >= 0): nearly every unit of the last layer fires at init",
          ja="ずらし幅 s = {shift:g}(重みはすべて 0 以上): 初期化時、最後の層のほぼすべてのユニットが発火する",
          rule=all_fire, words=_words,
          applies=lambda r: "shifted" in r["propagation"] and r["settings"]["shift"] >= 1),
    Claim("shifted_first_loss",
          en="training a {train_depth}-layer stack ({train_width} channels), the shifted start's first loss is above the centred start's, "
             "seed by seed (its logits are huge)",
          ja="{train_depth} 層({train_width} チャネル)のネットを学習すると、平均をずらした初期値の最初の損失は、シードごとに平均 0 の初期値より大きい"
             "(ロジットが巨大)",
          rule=first_loss, words=_words, applies=_trained("centred", "shifted")),
    Claim("shifted_behind",
          en="after {steps} steps the shifted start's test accuracy is below the centred start's, seed by seed",
          ja="{steps} ステップ後、平均をずらした初期値のテスト精度は、シードごとに平均 0 の初期値より低い",
          rule=shifted_behind, words=_words, applies=_trained("centred", "shifted")),
    Claim("shifted_dead_relus",
          en="how the shifted start fails: after {steps} steps fewer units of its last conv layer fire on the probe "
             "images than the centred net's (dead ReLUs), seed by seed",
          ja="平均をずらした初期値が失敗する仕組み: {steps} ステップ後、最後の畳み込み層で確認用の画像に発火するユニットが、"
             "シードごとに平均 0 の初期値より少ない(dead ReLU)",
          rule=dead_relus, words=_words, applies=_trained("centred", "shifted")),
    Claim("inputs_one_sided",
          en="pixels in [0, 1] (all positive), centred init: each first-layer unit's pre-activation sits further "
             "from zero (|mean| / std over the probe images) than with centred inputs, seed by seed",
          ja="画素値 [0, 1](すべて正)と平均 0 の初期値: 第 1 層の各ユニットの前活性化は、中心化した入力より 0 から"
             "離れている(確認用の画像での |平均| / 標準偏差)、シードごとに",
          rule=one_sided, words=_words, applies=_inputs("pixels", "centred")),
    Claim("inputs_gradient_signs",
          en="pixels in [0, 1]: more of each first-layer unit's weight-gradient entries share one sign than with "
             "centred inputs (over the first {sign_steps} steps), seed by seed (LeCun et al. 1998)",
          ja="画素値 [0, 1]: 第 1 層の各ユニットの重み勾配の成分のうち同じ符号を持つ割合が、中心化した入力より大きい"
             "(最初の {sign_steps} ステップ)、シードごとに(LeCun ら 1998)",
          rule=gradient_signs, words=_words, applies=_inputs("pixels", "centred")),
    Claim("centred_before_pixels",
          en="centred inputs reach the loss threshold ({fraction:g} of the way from chance to the best loss) in "
             "fewer steps than pixels in [0, 1], seed by seed",
          ja="中心化した入力は、画素値 [0, 1] より少ないステップで損失のしきい値(偶然の水準から最良の損失までの {fraction:g})"
             "に達する、シードごとに",
          rule=lambda r: before_pixels(r, "centred"), words=_words, applies=_inputs("pixels", "centred")),
    Claim("standardized_before_pixels",
          en="standardized inputs reach the threshold in fewer steps than pixels in [0, 1], seed by seed",
          ja="標準化した入力は、画素値 [0, 1] より少ないステップでしきい値に達する、シードごとに",
          rule=lambda r: before_pixels(r, "standardized"), words=_words, applies=_inputs("pixels", "standardized")),
]


# the figures' captions in the Japanese report (the English ones are the figure functions' docstrings)
CAPTIONS_JA = {
    'zero_mean_activations': '左: 初期化時の各層の ReLU 出力の平均(対数軸)と、ずらした初期化の予測される増え方。右: 発火するユニットの割合。',
    'zero_mean_sweep': 'ずらし量 s に対する、初期化時の平均出力の層ごとの増え方(両対数、点 = シード、線 = 中央値)。予測される開始点 s_c の前後を見る。',
    'zero_mean_training': '左: 学習中の損失(対数軸、シードの平均)。右: テスト精度(帯 = 最小〜最大)。平均 0 の初期化とずらした初期化を比べる。',
    'zero_mean_weights': '2 つの初期化の重みのヒストグラム(第 2 畳み込み層、最初のシード): 幅(分散)は同じで、平均だけが 0 と a で異なる。',
    'zero_mean_inputs': '入力の形ごと(画素 [0, 1]、中心化、標準化): 学習中の損失、第 1 層の各ユニットの |平均| / 標準偏差、勾配の符号がそろう割合。',
}
