"""The cv study's claims and prose (being moved here from the study module)."""
from __future__ import annotations

CLAIMS = []   # the study still decides its claims inline (old style)

QUESTION = {"en": 'People tune the standard deviation by cross-validation: how?',
            "ja": '標準偏差は交差検証でどう調整するのか?'}


def explanation(result, lang="en") -> str:
    """The section's prose for this run (a fact about the run is computed from `result`)."""
    return EXPLANATION[lang]


EXPLANATION = {
    "en": "When no theory fits, the scale of the initial weights is a hyperparameter like any other: try a grid of values, estimate each one's accuracy by k-fold cross-validation, and keep the best. initlab does this through scikit-learn's own GridSearchCV over an sklearn-compatible CNN. The curve shows too small and too large a variance losing to a well-chosen one.",
    "ja": '理論が当てはまらないとき、初期重みのスケールも他と同じく一つのハイパーパラメータとして扱えます。値のグリッドを試し、k 分割交差検証でそれぞれの精度を推定し、最良のものを選びます。initlab は scikit-learn 互換の CNN に対して scikit-learn 自身の GridSearchCV でこれを行います。曲線は、分散が小さすぎても大きすぎても、適切に選んだ値より精度が劣ることを示します。',
}
