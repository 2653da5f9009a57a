"""The deep study's claims and prose (Xiao et al. 2018; Pennington et al. 2017), decided over seeds."""
from __future__ import annotations

from ..lab import verdicts
from ..lab.claims import Claim

QUESTION = {"en": "How deep can a plain CNN go? Dynamical isometry and critical initialization",
            "ja": "素の CNN はどこまで深くできるか? 動的等長性と臨界初期化"}


def deepest(result) -> int:
    return max(run["depth"] for run in result["runs"].values())


def run(result, init):
    return result["runs"].get(f"{init}@{deepest(result)}")


def _has(*inits):
    return lambda result: all(run(result, i) is not None for i in inits)


def more_accurate(result, other):
    return verdicts.paired(run(result, other)["accuracy"], run(result, "delta_orthogonal")["accuracy"],
                           direction="less", effect="difference",
                           effect_name=f"accuracy, delta-orthogonal - {other}")


def better_conditioned(result, other):
    return verdicts.paired(run(result, "delta_orthogonal")["condition"], run(result, other)["condition"],
                           direction="less", effect="ratio",
                           effect_name=f"Jacobian condition number, {other} / delta-orthogonal")


def _words(result):
    return {"depth": deepest(result), "steps": result["settings"]["steps"]}


CLAIMS = [
    Claim("isometry_vs_gaussian",
          en="at init the {depth}-layer tanh stack's input-output Jacobian is better conditioned with delta-orthogonal "
             "kernels than with Gaussian kernels at the same critical point, seed by seed",
          ja="初期化時、{depth} 層の tanh の積み重ねの入出力ヤコビアンは、同じ臨界点のガウス分布カーネルより "
             "delta-orthogonal カーネルの方が条件数が小さい(シードごと)",
          rule=lambda r: better_conditioned(r, "gaussian"), words=_words, applies=_has("delta_orthogonal", "gaussian")),
    Claim("isometry_vs_flattened_orthogonal",
          en="... and better conditioned than with orthogonal kernels flattened over (channels x kh x kw)",
          ja="……さらに、(チャネル x kh x kw) で平坦化した直交カーネルより条件数が小さい",
          rule=lambda r: better_conditioned(r, "orthogonal"), words=_words,
          applies=_has("delta_orthogonal", "orthogonal")),
    Claim("trains_vs_gaussian",
          en="at {depth} layers delta-orthogonal tanh nets reach a higher test accuracy in {steps} steps than Gaussian "
             "ones at the same critical point",
          ja="{depth} 層では、delta-orthogonal の tanh ネットは同じ臨界点のガウス分布のネットより {steps} ステップで高い"
             "テスト精度に達する",
          rule=lambda r: more_accurate(r, "gaussian"), words=_words, applies=_has("delta_orthogonal", "gaussian")),
    Claim("trains_vs_he_relu",
          en="at {depth} layers delta-orthogonal tanh nets reach a higher test accuracy than He-initialized ReLU nets",
          ja="{depth} 層では、delta-orthogonal の tanh ネットは He 初期化の ReLU ネットより高いテスト精度に達する",
          rule=lambda r: more_accurate(r, "he_relu"), words=_words, applies=_has("delta_orthogonal", "he_relu")),
]


def explanation(result, lang="en") -> str:
    if not result:
        return EXPLANATION[lang].format(depths="", seeds="")
    s = result["settings"]
    return EXPLANATION[lang].format(depths=", ".join(str(d) for d in s["depths"]), seeds=len(s["seeds"]))


EXPLANATION = {
    "en": "On the critical line the signal's variance neither vanishes nor explodes, but that is a statement about "
          "the average over directions. Training needs more: every direction of the gradient should pass through "
          "the depth with about the same gain, i.e. all singular values of the input-output Jacobian near 1 "
          "(dynamical isometry). Delta-orthogonal kernels (only the centre tap, an orthogonal matrix) come close to "
          "that; Gaussian kernels spread the singular values over many orders of magnitude; ReLU cannot be "
          "isometric at all. Here vanilla conv nets of {depths} layers, each init at its own swept learning rate, "
          "are trained over {seeds} seeds, beside the Jacobian's condition number at init.",
    "ja": "臨界線上では信号の分散は消えも爆発もしませんが、それは方向についての平均の話です。学習にはそれ以上のこと、"
          "すなわち勾配のどの方向もほぼ同じ倍率で深さを通り抜けること、入出力ヤコビアンのすべての特異値が 1 の近くにある"
          "こと(動的等長性)が必要です。delta-orthogonal カーネル(中心のタップだけが直交行列)はそれに近づきますが、"
          "ガウス分布のカーネルは特異値を何桁にも広げ、ReLU はそもそも等長にはなれません。ここでは {depths} 層の素の"
          "畳み込みネットを、初期化ごとに探索した学習率で {seeds} シードにわたって学習させ、初期化時のヤコビアンの条件数と"
          "並べます。",
}


def captions(result, lang="en") -> dict:
    """{figure name: what to look at, and what this run shows}."""
    import numpy as np
    d = deepest(result)
    parts = {i: run(result, i) for i in ("delta_orthogonal", "gaussian") if run(result, i)}
    if len(parts) < 2:
        return {}
    acc = {i: float(np.median(r["accuracy"])) for i, r in parts.items()}
    cond = {i: float(np.median(r["condition"])) for i, r in parts.items()}
    if lang == "ja":
        return {"deep_scaling": f"左: 学習後のテスト精度、右: 初期化時のヤコビアンの条件数(対数)。{d} 層では delta-orthogonal "
                                f"が精度 {acc['delta_orthogonal']:.2f}・条件数 {cond['delta_orthogonal']:.3g}、ガウス分布が"
                                f"精度 {acc['gaussian']:.2f}・条件数 {cond['gaussian']:.3g}(シードの中央値)。"}
    return {"deep_scaling": f"Left: test accuracy after training; right: the Jacobian's condition number at init (log). "
                            f"At {d} layers delta-orthogonal reached {acc['delta_orthogonal']:.2f} with condition "
                            f"{cond['delta_orthogonal']:.3g}, Gaussian {acc['gaussian']:.2f} with {cond['gaussian']:.3g} "
                            "(medians over seeds)."}
