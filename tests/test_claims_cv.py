"""The cv study's claims hold on a result that shows them and fail on a deliberately wrong one
(a small std that learned, a large std that beat He, a scheme far below the tuned std): no
claim is a check that cannot fail."""
import pytest

from initlab.claims import cv as catalogue
from initlab.lab.claims import decide

SEEDS = 8
BASE = "normal(std=1)"


def candidate(weight_init, scale, scores):
    return {"params": {"weight_init": weight_init, "init_scale": scale}, "label": weight_init, "init_scale": scale,
            "init_std": scale, "scores": scores, "mean": sum(scores) / len(scores)}


def seeds(base, step=0.002):
    return [base + step * s for s in range(SEEDS)]


def fake_result(small=None, large=None, he=None, glorot=None, tuned=None):
    candidates = [candidate(BASE, 1e-4, small or seeds(0.11)), candidate(BASE, 0.1, tuned or seeds(0.90)),
                  candidate(BASE, 1.0, large or seeds(0.40)), candidate("he_normal", 1.0, he or seeds(0.89)),
                  candidate("glorot_uniform", 1.0, glorot or seeds(0.88)),
                  candidate("normal(std=0.01)", 1.0, seeds(0.2))]          # not a variance-scaled scheme
    ranked = sorted(candidates, key=lambda r: -r["mean"])
    return {"settings": {"base_init": BASE, "folds": 3}, "chance": 0.1, "candidates": ranked, "best": ranked[0],
            "searches": [{"seed": s} for s in range(SEEDS)]}


def verdicts_of(result):
    return {r["id"]: r["verdict"] for r in decide(catalogue.CLAIMS, result)}


def test_every_claim_holds_on_a_result_that_shows_it():
    assert verdicts_of(fake_result()) == dict.fromkeys(
        ("too_small_stalls", "too_large_loses", "he_normal_near_best", "glorot_uniform_near_best"), "holds")


@pytest.mark.parametrize("wrong, claim", [
    (dict(small=seeds(0.6)), "too_small_stalls"),                          # a tiny std that learned
    (dict(large=seeds(0.95)), "too_large_loses"),                          # swapped: std 1 beat He
    (dict(glorot=seeds(0.70)), "glorot_uniform_near_best"),                # 20 points below the tuned std
    (dict(he=seeds(0.84, 0.0)), "he_normal_near_best"),                    # 6 points: beyond the 5-point margin
])
def test_each_claim_fails_on_a_wrong_input(wrong, claim):
    assert verdicts_of(fake_result(**wrong))[claim] == "fails"


def test_only_variance_scaled_schemes_are_graded():
    result = fake_result()
    assert [r["label"] for r in catalogue.named(result)] == ["he_normal", "glorot_uniform"]
    records = {r["id"]: r for r in decide(catalogue.CLAIMS, result)}
    assert not any("normal(std=0.01)" in r["claim"] for r in records.values())
    assert "searching normal(std=1)" in records["he_normal_near_best"]["claim"]
    assert "lecun_normal_near_best" not in records                        # not in this grid


def test_claims_that_need_candidates_the_grid_lacks_do_not_apply():
    result = fake_result()
    result["candidates"] = [c for c in result["candidates"] if c["init_scale"] != 1.0 or c["label"] == "normal(std=0.01)"]
    assert set(verdicts_of(result)) == {"too_small_stalls"}          # no He, no large std, no scheme


def test_the_explanation_states_what_was_measured():
    text = catalogue.explanation(fake_result(), "en")
    assert "8 searches of 3 folds" in text and "came from normal(std=1) (init std 0.1)" in text
    assert "smallest std (1e-04) scored 0.117" in text
    assert "8 回の探索" in catalogue.explanation(fake_result(), "ja")
    assert catalogue.explanation({}, "en") == catalogue.EXPLANATION["en"]
