"""Claims as data (floor 6): a sentence in English and Japanese, the rule that decides it over
seeds, and when it applies. A study's catalogue is a list of `Claim`s in `initlab.claims.<study>`;
the study itself returns measurements only.

    Claim("he_before_glorot",
          en="He reaches the loss threshold before Glorot at {depth} layers",
          ja="{depth} 層では He は Glorot より先に損失のしきい値に達する",
          rule=lambda r: verdicts.paired(he_steps(r), glorot_steps(r), budget=...),
          words=lambda r: {"depth": r["depths"][-1]})

`decide(catalogue, result)` turns each applicable claim into a record for results.json, the
report and the terminal: {"id", "claim", "claim_ja", "verdict", "evidence", "holds", "k", "n",
"p", "effect", "interval", "effect_name", "lower_bound", "why", "why_ja"}.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from .verdicts import FAILS, HOLDS, ILLUSTRATION, INCONCLUSIVE, Verdict

VERDICTS = (HOLDS, FAILS, INCONCLUSIVE, ILLUSTRATION)


def _nothing(result) -> dict:
    return {}


def _always(result) -> bool:
    return True


@dataclass(frozen=True)
class Claim:
    id: str
    en: str                                    # may hold {fields} filled from words(result)
    ja: str
    rule: Callable[[dict], Verdict]
    words: Callable[[dict], dict] = field(default=_nothing)
    applies: Callable[[dict], bool] = field(default=_always)

    def record(self, result: dict) -> dict:
        verdict = self.rule(result)
        fill = self.words(result)
        return {"id": self.id, "claim": self.en.format(**fill), "claim_ja": self.ja.format(**fill),
                "evidence": verdict.verdict != ILLUSTRATION, "holds": verdict.verdict == HOLDS,
                **verdict.as_dict()}


def decide(catalogue, result: dict) -> list[dict]:
    """The records of every claim in `catalogue` that applies to `result`, in catalogue order."""
    return [claim.record(result) for claim in catalogue if claim.applies(result)]


def tally(records) -> dict:
    """{verdict: count} over the records that count as evidence, plus "illustration"."""
    counts = dict.fromkeys(VERDICTS, 0)
    for record in records:
        counts[record["verdict"]] += 1
    return counts
