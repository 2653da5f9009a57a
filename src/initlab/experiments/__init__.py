"""The lab's studies, one module per question (floor 6). They return plain data, never plot.

Conventions every study module keeps:

* `run(..., seeds=(0,), progress=None) -> dict`: the result, JSON-able once NumPy arrays are
  turned into lists (`to_jsonable`). `progress`, when given, is called as
  `progress(done, total, status)` so the CLI can draw a bar.
* `TINY` and `DEMO`: keyword arguments for `run` at test scale and at demo scale (the demo runs
  every study in a few minutes on 2 cores).
* `result["claims"]`: a list of `claim(...)` records, each a sentence (in English, and in
  Japanese for the Japanese report), the measured number(s) and whether the claim held in this
  run; the report and the CLI print them.
"""
from __future__ import annotations

from ..lab.store import to_jsonable  # noqa: F401  (re-exported: studies and the CLI use it)


def claim(text: str, holds: bool, *, ja: str, **measured) -> dict:
    """One checked statement, `text` in English and `ja` the same in Japanese:
    {"claim": text, "claim_ja": ja, "holds": bool, "measured": {name: value}}."""
    return {"claim": text, "claim_ja": ja, "holds": bool(holds), "measured": to_jsonable(measured)}
