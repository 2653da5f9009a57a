"""The depth study's claims hold on a result that shows them and fail on a deliberately wrong
one (swapped inits, a shuffled theory, a critical net that never learned): no claim is a check
that cannot fail."""
import math

import pytest

from initlab.claims import depth as catalogue
from initlab.lab.claims import decide

SEEDS = 8


def fake_result(he_deep, glorot_deep, he_shallow=None, glorot_shallow=None, ratio_factor=1.0, critical_final=0.3):
    he_shallow = he_shallow or [20 + s for s in range(SEEDS)]
    glorot_shallow = glorot_shallow or [25 + s for s in range(SEEDS)]

    def run(init, depth, steps):
        return {"init": init, "depth": depth, "steps_to_threshold": steps, "final_loss": [0.5] * SEEDS}

    theory = 2.0 ** (-(20 - 1) / 2)
    return {
        "settings": {"steps": 100, "fraction": 0.5, "seeds": list(range(SEEDS))},
        "depths": [5, 20], "inits": ["glorot", "he"], "chance_loss": math.log(10),
        "runs": {"he@5": run("he", 5, he_shallow), "glorot@5": run("glorot", 5, glorot_shallow),
                 "he@20": run("he", 20, he_deep), "glorot@20": run("glorot", 20, glorot_deep),
                 "delta_orthogonal@20": {**run("delta_orthogonal", 20, [10] * SEEDS),
                                         "final_loss": [critical_final] * SEEDS}},
        "grad_ratio": {"20": {"theory": theory,
                              "ratio_normalized": [theory * ratio_factor * (1 + 0.02 * s) for s in range(SEEDS)]}},
        "critical": "delta_orthogonal@20",
    }


def verdicts_of(result):
    return {r["id"]: r["verdict"] for r in decide(catalogue.CLAIMS, result)}


GOOD = dict(he_deep=[30 + s for s in range(SEEDS)], glorot_deep=[None] * SEEDS)


def test_every_claim_holds_on_a_result_that_shows_it():
    assert set(verdicts_of(fake_result(**GOOD)).values()) == {"holds"}


@pytest.mark.parametrize("wrong, claim", [
    (dict(he_deep=[None] * SEEDS, glorot_deep=[30 + s for s in range(SEEDS)]), "he_before_glorot"),   # swapped
    (dict(GOOD, he_shallow=[25 + s for s in range(SEEDS)], glorot_shallow=[20 + s for s in range(SEEDS)]),
     "he_before_glorot_shallow"),
    (dict(GOOD, ratio_factor=8.0), "gradient_ratio"),                     # a theory off by 8x
    (dict(GOOD, critical_final=3.0), "critical_trains"),                  # stuck above chance
    # Glorot only 1.1x slower deep but 5x slower shallow: the delay shrank with depth
    (dict(he_deep=[30 + s for s in range(SEEDS)], glorot_deep=[33 + s for s in range(SEEDS)],
          he_shallow=[10] * SEEDS, glorot_shallow=[50] * SEEDS), "advantage_grows"),
])
def test_each_claim_fails_on_a_wrong_input(wrong, claim):
    assert verdicts_of(fake_result(**wrong))[claim] == "fails"


def test_claims_that_need_runs_the_study_skipped_do_not_apply():
    result = fake_result(**GOOD)
    del result["critical"]
    result["inits"] = ["he"]
    assert set(verdicts_of(result)) == {"gradient_ratio"}
