"""The propagate study's claims and prose (being moved here from the study module)."""
from __future__ import annotations

CLAIMS = []   # the study still decides its claims inline (old style)

QUESTION = {"en": 'How large a variance?',
            "ja": '分散はどれくらいにすべきか?'}


def explanation(result, lang="en") -> str:
    """The section's prose for this run (a fact about the run is computed from `result`)."""
    return EXPLANATION[lang]


EXPLANATION = {
    "en": "Even with zero mean, the scale matters. Each layer multiplies the signal's variance by about sigma_w^2 * fan_in * E[phi(z)^2]: below 1 the signal shrinks geometrically with depth, above 1 it explodes (or saturates tanh). Glorot (variance 2/(fan_in+fan_out)) keeps a tanh stack near 1; He (2/fan_in) compensates for ReLU zeroing half the signal; LSUV rescales each layer on real data until its output variance is 1. The lines are measured per layer; the dashed lines are the mean-field prediction. The theory describes the average over random weight draws: a single narrow net (16 channels) drifts away from it layer after layer, so one He-initialized net can end up several times above or below the input scale after 30 layers while the average stays flat; wider nets drift less.",
    "ja": '平均が 0 でも、スケールは重要です。各層は信号の分散をおよそ sigma_w^2 * fan_in * E[phi(z)^2] 倍にします。この倍率が 1 より小さければ信号は深さとともに幾何級数的に縮み、大きければ爆発します(tanh なら飽和)。Glorot(分散 2/(fan_in+fan_out))は tanh の積み重ねで 1 付近を保ち、He(2/fan_in)は ReLU が信号の半分を 0 にする分を補います。LSUV は実データ上で各層の出力分散が 1 になるまで重みを再スケールします。実線は層ごとの実測値、破線は平均場理論の予測です。理論が表すのは重みを何度もランダムに引いたときの平均です。幅の狭いネットワーク(16 チャネル)を 1 つだけ取ると、層を経るごとに理論値から離れていくため、He 初期化でも 30 層を経ると入力のスケールの数倍にも数分の一にもなることがありますが、平均はほぼ一定に保たれます。幅が広いほどずれは小さくなります。',
}
