"""The zero_mean study's claims and prose (being moved here from the study module)."""
from __future__ import annotations

CLAIMS = []   # the study still decides its claims inline (old style)

QUESTION = {"en": 'Why zero mean?',
            "ja": 'なぜ平均を 0 にするのか?'}


def explanation(result, lang="en") -> str:
    """The section's prose for this run (a fact about the run is computed from `result`)."""
    return EXPLANATION[lang]


EXPLANATION = {
    "en": "With zero-centred inputs and zero-mean weights, every unit's pre-activation is zero on average: no unit is favoured, and the signal stays centred as it goes deeper. Shift the same distribution off zero (same variance, non-zero mean) and each layer adds a systematic push in one direction: the activation mean drifts layer by layer, units saturate or all fire together, and training is slower or fails.",
    "ja": '入力がゼロ中心で重みの平均も 0 なら、どのユニットの前活性化(活性化関数に入る前の値)も平均 0 で、特定のユニットが優遇されず、深い層に進んでも信号は 0 を中心としたままです。同じ分散のまま分布を 0 からずらすと、各層が一方向への偏りを加え、活性化の平均が層ごとにずれていき、ユニットが飽和したり一斉に発火したりして、学習が遅くなるか失敗します。',
}
