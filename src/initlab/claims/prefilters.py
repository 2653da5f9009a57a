"""The prefilters study's claims and prose (being moved here from the study module)."""
from __future__ import annotations

CLAIMS = []   # the study still decides its claims inline (old style)

QUESTION = {"en": 'Trained, chosen by hand, or computed from the data?',
            "ja": 'フィルターは学習されるのか、人が選ぶのか、データから計算するのか?'}


def explanation(result, lang="en") -> str:
    """The section's prose for this run (a fact about the run is computed from `result`)."""
    return EXPLANATION[lang]


EXPLANATION = {
    "en": 'All three happen. Filters can be chosen by hand (Sobel, X), learned from a random start, or computed from the data before any gradient step: k-means centroids of whitened image patches (Coates & Ng 2011) or their principal components (PCANet). The figure compares where each start goes.',
    "ja": '三つとも実際に行われています。手で選ぶ(Sobel、X)、ランダムな初期値から学習する、そして勾配による学習の前にデータから計算する方法です。白色化した画像パッチの k-means の重心(Coates & Ng 2011)や主成分(PCANet)がその例です。図では、それぞれの初期値から学習がどこへ向かうかを比べます。',
}
