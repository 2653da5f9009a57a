"""The optimizers study's claims and prose: momentum and ReLU vs plain SGD and sigmoid
(Glorot & Bengio 2010; Sutskever et al. 2013), decided over seeds."""
from __future__ import annotations

import math

from ..lab import verdicts
from ..lab.claims import Claim

QUESTION = {"en": "Is it momentum and ReLU that make a random start trainable?",
            "ja": "ランダムな初期値から学習できるのは、モーメンタムと ReLU のおかげなのか?"}


def deepest(result) -> int:
    return max(cell["depth"] for cell in result["cells"].values())


def cell(result, activation, optimizer, depth=None):
    return result["cells"].get(f"{activation}/{optimizer}@{deepest(result) if depth is None else depth}")


def _has(*pairs):
    return lambda result: all(cell(result, a, o) is not None for a, o in pairs)


def _finals(c):
    return [math.inf if v is None or v == "inf" else v for v in c["final_loss"]]


def sigmoid_plateau(result):
    tanh, sigmoid = cell(result, "tanh", "sgd"), cell(result, "sigmoid", "sgd")
    return verdicts.paired(tanh["steps_to_leave_plateau"], sigmoid["steps_to_leave_plateau"], direction="less",
                           budget=result["settings"]["steps"], effect_name="sigmoid's steps / tanh's")


def relu_lower_loss(result, other):
    relu, them = cell(result, "relu", "momentum"), cell(result, other, "momentum")
    return verdicts.paired(_finals(relu), _finals(them), direction="less", effect="difference",
                           effect_name=f"{other}'s final loss - ReLU's (nats)")


def momentum_faster(result):
    momentum, sgd = cell(result, "relu", "momentum"), cell(result, "relu", "sgd")
    return verdicts.paired(momentum["steps_to_threshold"], sgd["steps_to_threshold"], direction="less",
                           budget=result["settings"]["steps"], effect_name="plain SGD's steps / momentum's")


def _words(result):
    return {"depth": deepest(result), "steps": result["settings"]["steps"]}


CLAIMS = [
    Claim("sigmoid_plateau",
          en="with plain SGD at {depth} layers, sigmoid nets leave the initial plateau (a tenth of the way from "
             "chance to the best loss) later than tanh nets, seed by seed (Glorot & Bengio 2010)",
          ja="{depth} 層・素の SGD では、シグモイドのネットは tanh のネットより遅れて初期の停滞(偶然の水準から最良の損失"
             "までの 1/10)を抜ける(シードごと。Glorot & Bengio 2010)",
          rule=sigmoid_plateau, words=_words, applies=_has(("tanh", "sgd"), ("sigmoid", "sgd"))),
    Claim("relu_beats_sigmoid",
          en="at {depth} layers with SGD + momentum, ReLU nets end {steps} steps with a lower loss than sigmoid nets",
          ja="{depth} 層・SGD + モーメンタムでは、{steps} ステップ後の損失は ReLU のネットの方がシグモイドのネットより低い",
          rule=lambda r: relu_lower_loss(r, "sigmoid"), words=_words,
          applies=_has(("relu", "momentum"), ("sigmoid", "momentum"))),
    Claim("relu_beats_tanh",
          en="at {depth} layers with SGD + momentum, ReLU nets end {steps} steps with a lower loss than tanh nets",
          ja="{depth} 層・SGD + モーメンタムでは、{steps} ステップ後の損失は ReLU のネットの方が tanh のネットより低い",
          rule=lambda r: relu_lower_loss(r, "tanh"), words=_words,
          applies=_has(("relu", "momentum"), ("tanh", "momentum"))),
    Claim("momentum_faster",
          en="with ReLU at {depth} layers, SGD + momentum 0.9 reaches the loss threshold in fewer steps than plain SGD, "
             "each at the learning rate its sweep chose (Sutskever et al. 2013)",
          ja="ReLU・{depth} 層では、SGD + モーメンタム 0.9 は素の SGD より少ないステップで損失のしきい値に達する"
             "(学習率はそれぞれの探索で選んだもの。Sutskever ら 2013)",
          rule=momentum_faster, words=_words, applies=_has(("relu", "momentum"), ("relu", "sgd"))),
]


def explanation(result, lang="en") -> str:
    """The section's prose; the rates and sizes are this run's."""
    if not result:
        return EXPLANATION[lang].format(rates="", depths="", seeds="")
    s = result["settings"]
    rates = ", ".join(f"{key} {lr:g}" for key, lr in result["rates"].items())
    return EXPLANATION[lang].format(rates=rates, depths=", ".join(str(d) for d in s["depths"]),
                                    seeds=len(s["seeds"]))


EXPLANATION = {
    "en": "The answer this lab starts from says that deep CNNs train from a random start because of better "
          "optimizers (SGD with momentum) and ReLU-like activations. Here plain conv stacks ({depths} layers) with "
          "sigmoid, tanh and ReLU, each with its own variance-preserving init (so only the nonlinearity differs), "
          "are trained with plain SGD, SGD + momentum and Adam over {seeds} seeds. No learning rate is picked by "
          "hand: each cell's rate comes from a sweep on seeds of its own ({rates}). The curves show the loss; the "
          "claims compare the steps to leave the plateau, the steps to the threshold and the final loss.",
    "ja": "この実験室の出発点となった回答は、深い CNN がランダムな初期値から学習できるのは、より良い最適化手法(モーメンタム"
          "付き SGD)と ReLU のような活性化関数のおかげだと述べています。ここでは、シグモイド・tanh・ReLU の単純な畳み込み層の"
          "積み重ね({depths} 層。それぞれ分散を保つ初期化を使うので、違いは非線形性だけ)を、素の SGD、SGD + モーメンタム、"
          "Adam で {seeds} シードにわたって学習させます。学習率は手で選ばず、各条件の学習率は専用のシードでの探索で決めます"
          "({rates})。曲線は損失を示し、主張は停滞を抜けるまでのステップ数、しきい値までのステップ数、最終損失を比べます。",
}


def captions(result, lang="en") -> dict:
    """{figure name: what to look at, and what this run shows}."""
    d = deepest(result)
    sig = cell(result, "sigmoid", "momentum")
    stuck = sum(v is None for v in sig["steps_to_threshold"]) if sig else 0
    n = len(result["settings"]["seeds"])
    if lang == "ja":
        return {"optimizers_curves": f"最適化手法ごとのパネル。色が活性化関数、太線がシードの中央値。{d} 層・SGD + モーメンタムの"
                                     f"シグモイドは {n} シード中 {stuck} でしきい値に達しなかった。",
                "optimizers_steps": "各条件のしきい値までのステップ数(点 = シード、三角 = 予算内に達せず)。"}
    return {"optimizers_curves": f"One panel per optimizer; colours are activations, bold lines the median over seeds. "
                                 f"At {d} layers with SGD + momentum, sigmoid nets missed the threshold in {stuck} of "
                                 f"{n} seeds.",
            "optimizers_steps": "Steps to the threshold per cell and seed (triangles: not within the budget)."}
