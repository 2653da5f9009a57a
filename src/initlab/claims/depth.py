"""The depth study's claims (He et al. 2015, Figure 3; Xiao et al. 2018), decided over seeds."""
from __future__ import annotations

from ..lab import verdicts
from ..lab.claims import Claim

QUESTION = {"en": 'Does it matter for training?',
            "ja": '学習に影響するのか?'}


def explanation(result, lang="en") -> str:
    """The section's prose for this run (a fact about the run is computed from `result`)."""
    return EXPLANATION[lang]


EXPLANATION = {
    "en": "In deep plain networks (no batch normalization, no skip connections) the initialization decides whether training starts at all. With ReLU, Glorot's variance is half of what keeps the signal alive, so the gradient reaching the first layer shrinks by about 2^(-(L-1)/2); He's does not. The curves show the loss of nets of increasing depth, and the table the steps each init needs to reach a loss threshold (He et al. 2015, Figure 3).",
    "ja": '深いプレーンなネットワーク(バッチ正規化なし、スキップ接続なし)では、初期化によって学習がそもそも始まるかどうかが決まります。ReLU では Glorot の分散は信号を保つのに必要な値の半分しかなく、最初の層に届く勾配はおよそ 2^(-(L-1)/2) 倍に縮みますが、He ではそうなりません。曲線は深さの異なるネットワークの損失、表は各初期化が損失のしきい値に達するまでのステップ数です(He ら 2015 の図 3)。',
}


GRADIENT_FACTOR = 2.0   # tolerance on Glorot/He's gradient ratio: finite width drifts each net log-normally


def deepest(result) -> int:
    return result["depths"][-1]


def shallowest(result) -> int:
    return result["depths"][0]


def steps(result, init, depth) -> list:
    """Steps to the threshold per seed (None = not within the budget)."""
    return result["runs"][f"{init}@{depth}"]["steps_to_threshold"]


def delay_interval(glorot, he, budget):
    """Glorot's steps over He's as an interval (low, high), censored runs taken as > budget."""
    g_low, g_high = (budget + 1, float("inf")) if glorot is None else (glorot, glorot)
    h_low, h_high = (budget + 1, float("inf")) if he is None else (he, he)
    return (g_low / h_high, g_high / h_low)


def gradient_ratio(result):
    r = result["grad_ratio"][str(deepest(result))]
    return verdicts.within(r["ratio_normalized"], [r["theory"]] * len(r["ratio_normalized"]), GRADIENT_FACTOR,
                           effect_name="measured / 2^(-(L-1)/2)")


def he_before_glorot(result, depth):
    return verdicts.paired(steps(result, "he", depth), steps(result, "glorot", depth), direction="less",
                           budget=result["settings"]["steps"], effect_name="Glorot's steps / He's")


def advantage_grows(result):
    budget = result["settings"]["steps"]
    small, large = shallowest(result), deepest(result)
    at = {d: [delay_interval(g, h, budget) for g, h in zip(steps(result, "glorot", d), steps(result, "he", d))]
          for d in (small, large)}
    return verdicts.paired(at[small], at[large], direction="less", effect="ratio",
                           effect_name=f"delay at {large} layers / delay at {small}")


def critical_trains(result):
    run = result["runs"][result["critical"]]
    final = [float("inf") if v is None else v for v in run["final_loss"]]
    return verdicts.compare(final, result["chance_loss"], direction="less", effect="difference",
                            effect_name="chance loss - final loss (nats)")


def _has(*inits):
    return lambda result: all(i in result["inits"] for i in inits)


def _words(result):
    s = result["settings"]
    return {"deep": deepest(result), "shallow": shallowest(result), "steps": s["steps"],
            "factor": GRADIENT_FACTOR, "fraction": s["fraction"]}


CLAIMS = [
    Claim("gradient_ratio",
          en="at init the gradient reaching the first layer under Glorot is 2^(-(L-1)/2) times He's at {deep} layers "
             "(independent draws; divided by the top conv layer's gradient to remove the head and the loss; "
             "geometric mean over seeds within a factor {factor:g})",
          ja="初期化時、{deep} 層で第 1 層に届く勾配は Glorot では He の 2^(-(L-1)/2) 倍(独立な乱数。最上位の畳み込み層の"
             "勾配で割って出力層と損失の影響を除く。シードの幾何平均が {factor:g} 倍以内)",
          rule=gradient_ratio, words=_words),
    Claim("he_before_glorot",
          en="at {deep} layers He reaches the loss threshold ({fraction:g} of the way from chance to the best loss) "
             "in fewer steps than Glorot, seed by seed",
          ja="{deep} 層では、He はシードごとに Glorot より少ないステップで損失のしきい値(偶然の水準から最良の損失までの "
             "{fraction:g})に達する",
          rule=lambda r: he_before_glorot(r, deepest(r)), words=_words, applies=_has("glorot", "he")),
    Claim("he_before_glorot_shallow",
          en="at {shallow} layers, too, He reaches the threshold in fewer steps than Glorot",
          ja="{shallow} 層でも、He は Glorot より少ないステップでしきい値に達する",
          rule=lambda r: he_before_glorot(r, shallowest(r)), words=_words,
          applies=lambda r: _has("glorot", "he")(r) and len(r["depths"]) > 1),
    Claim("advantage_grows",
          en="Glorot's delay (its steps over He's) is larger at {deep} layers than at {shallow}, seed by seed "
             "(a run that never got there counts as beyond the budget of {steps} steps)",
          ja="Glorot の遅れ(He に対するステップ数の比)は、シードごとに {shallow} 層より {deep} 層で大きい"
             "(しきい値に達しなかった実行は {steps} ステップの予算を超えたものとして扱う)",
          rule=advantage_grows, words=_words,
          applies=lambda r: _has("glorot", "he")(r) and len(r["depths"]) > 1),
    Claim("critical_trains",
          en="tanh with delta-orthogonal kernels at criticality trains at {deep} layers: its final loss is below "
             "chance in each seed",
          ja="臨界点での delta-orthogonal カーネルを使った tanh ネットは {deep} 層で学習できる: 最終損失が各シードで"
             "偶然の水準を下回る",
          rule=critical_trains, words=_words, applies=lambda r: "critical" in r),
]


def captions(result, lang="en") -> dict:
    """{figure name: what to look at, and what this run shows}."""
    deep = deepest(result)
    runs = result["runs"]
    reached = {name: sum(v is not None for v in runs[f"{name}@{deep}"]["steps_to_threshold"])
               for name in ("glorot", "he") if f"{name}@{deep}" in runs}
    n = len(result["settings"]["seeds"])
    r = result["grad_ratio"][str(deep)]
    if lang == "ja":
        out = {"depth_curves": "各パネルは 1 つの深さ。太線はシードの中央値、細線は各シード、点線はその深さのしきい値。"
                               + (f"{deep} 層では He は {n} シード中 {reached['he']}、Glorot は {reached['glorot']} で"
                                  "しきい値に達した。" if reached else ""),
               "depth_steps": "しきい値までのステップ数(点 = シード、三角 = 予算内に達せず)。深くなるほど初期化の差が開くかを見る。",
               "depth_gradients": f"初期化時に第 1 層へ届く勾配の比 Glorot / He(独立な乱数)。破線が理論 2^(-(L-1)/2)。"
                                  f"{deep} 層では幾何平均 {r['ratio_normalized_gmean']:.3g}、理論 {r['theory']:.3g}。"}
    else:
        out = {"depth_curves": "One panel per depth: bold lines are the median over seeds, thin lines single seeds, the "
                               "dotted line the depth's threshold. "
                               + (f"At {deep} layers He reached it in {reached['he']} of {n} seeds, Glorot in "
                                  f"{reached['glorot']}." if reached else ""),
               "depth_steps": "Steps to the threshold per seed (triangles: not within the budget). Look at how the gap "
                              "between the inits opens with depth.",
               "depth_gradients": f"Glorot's gradient reaching the first layer over He's at init (independent draws), "
                                  f"against the dashed 2^(-(L-1)/2): at {deep} layers the geometric mean is "
                                  f"{r['ratio_normalized_gmean']:.3g} for a predicted {r['theory']:.3g}."}
    return out
