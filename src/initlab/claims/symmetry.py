"""The symmetry study's claims and prose (being moved here from the study module)."""
from __future__ import annotations

CLAIMS = []   # the study still decides its claims inline (old style)

QUESTION = {"en": 'Why random, and not all zeros? (symmetry breaking)',
            "ja": 'なぜランダムにするのか? すべて 0 ではいけないのか(対称性の破れ)'}


def explanation(result, lang="en") -> str:
    """The section's prose for this run (a fact about the run is computed from `result`)."""
    return EXPLANATION[lang]


EXPLANATION = {
    "en": 'If every filter of a layer starts with the same weights, every filter computes the same output, receives the same gradient, and takes the same step: in exact arithmetic they stay identical forever, and the layer behaves like a single filter. From all zeros with ReLU the gradients are exactly zero and nothing but the last bias moves. A random start makes the filters different with probability one, so they can learn different features. The pairwise cosine similarity of the filters shows it: 1.0 means the symmetry was never broken. (The study runs in float64; in float32 the BLAS rounds different output columns differently, and that rounding noise alone slowly splits a constant start: a random init breaks the symmetry on purpose, rounding only by accident.)',
    "ja": 'ある層のフィルターがすべて同じ重みで始まると、どのフィルターも同じ出力を出し、同じ勾配を受け、同じだけ更新されます。丸め誤差のない厳密な計算ではいつまでも同一のままで、層は 1 つのフィルターと同じ働きしかしません。ReLU を使ってすべて 0 から始めると勾配はちょうど 0 になり、最終層のバイアス以外は何も動きません。ランダムに始めればフィルターは確率 1 で互いに異なり、異なる特徴を学べます。フィルター同士のコサイン類似度がそれを示します。1.0 は対称性が一度も破れなかったことを意味します。(この実験は float64 で行います。float32 では BLAS が出力の列ごとに異なる丸めを行い、その丸めの違いだけで、定数で初期化したフィルターも少しずつ分かれていきます。ランダム初期化は対称性を意図して破り、丸めは偶然に破るにすぎません。)',
}
