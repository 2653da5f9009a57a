"""The prefilters study's claims hold on a result that shows them and fail on a deliberately
wrong one (swapped starts, a start that never got there, a direction kept only thanks to its
scale): no claim is a check that cannot fail."""
import pytest

from initlab.claims import prefilters as catalogue
from initlab.lab.claims import decide

SEEDS = 8
BUDGET = 100


def seeds(base, step=1):
    return [base + step * s for s in range(SEEDS)]


def start(steps, cosine, template=0.6):
    return {"steps_to_threshold": steps, "mean_cosine": cosine, "best_score_before": template,
            "initial_output_var": [1.0] * SEEDS}


def good_starts():
    return {"he": start(seeds(50), seeds(0.90, 0.001), seeds(0.60, 0.001)),
            "he_unit": start(seeds(50), seeds(0.80, 0.001), seeds(0.60, 0.001)),
            "hand": start(seeds(30), seeds(0.95, 0.001), [1.0] * SEEDS),
            "kmeans": start(seeds(20), seeds(0.96, 0.001), seeds(0.70, 0.001)),
            "pca": start(seeds(25), seeds(0.97, 0.001), seeds(0.75, 0.001))}


def fake_result(**changes):
    """Both datasets from `good_starts`, with {start: {key: values}} changed on shapes."""
    datasets = {}
    for name in ("shapes", "digits"):
        starts = good_starts()
        if name == "shapes":
            for which, values in changes.items():
                starts[which].update(values)
        datasets[name] = {"threshold": 0.9, "budget": BUDGET, "steps": list(range(0, BUDGET + 1, 5)),
                          "starts": starts}
    return {"datasets": datasets, "starts": list(good_starts())}


def verdicts_of(result):
    return {r["id"]: r["verdict"] for r in decide(catalogue.CLAIMS, result)}


def test_every_claim_holds_on_a_result_that_shows_it():
    verdicts = verdicts_of(fake_result())
    assert len(verdicts) == 2 * 12 and set(verdicts.values()) == {"holds"}


@pytest.mark.parametrize("wrong, claim", [
    # swapped: k-means slower than He seed by seed
    ({"kmeans": {"steps_to_threshold": seeds(50)}, "he": {"steps_to_threshold": seeds(20)}},
     "kmeans_faster_than_he_shapes"),
    # censored: the hand start never reached the threshold, He always did
    ({"hand": {"steps_to_threshold": [None] * SEEDS}}, "hand_faster_than_he_shapes"),
    # PCA beats He only by its scale: the same directions at unit variance are faster still
    ({"pca": {"steps_to_threshold": seeds(40)}, "he_unit": {"steps_to_threshold": seeds(30)}},
     "pca_faster_than_he_unit_shapes"),
    # the confound: k-means keeps its direction better than He's scale but worse than the same scale
    ({"kmeans": {"mean_cosine": seeds(0.92, 0.001)}, "he_unit": {"mean_cosine": seeds(0.94, 0.001)}},
     "kmeans_keeps_direction_shapes"),
    ({"hand": {"mean_cosine": seeds(0.5, 0.01)}}, "hand_keeps_direction_shapes"),
    # a shuffled control: He's scale turns more than the unit scale
    ({"he": {"mean_cosine": seeds(0.70, 0.001)}}, "scale_changes_direction_shapes"),
    ({"pca": {"best_score_before": seeds(0.40, 0.001)}}, "pca_looks_like_templates_shapes"),
])
def test_each_claim_fails_on_a_wrong_input(wrong, claim):
    verdicts = verdicts_of(fake_result(**wrong))
    assert verdicts[claim] == "fails"
    assert verdicts[claim.replace("shapes", "digits")] == "holds"        # the other dataset is untouched


def test_a_claim_decided_against_he_would_have_held_on_the_confounded_input():
    """The direction claim is decided against he_unit: on the confounded input above it fails,
    while the old comparison with He (at He's scale) would have called it a success."""
    result = fake_result(kmeans={"mean_cosine": seeds(0.92, 0.001)}, he_unit={"mean_cosine": seeds(0.94, 0.001)})
    assert catalogue.keeps_direction(result, "shapes", "kmeans", "he").verdict == "holds"
    assert verdicts_of(result)["kmeans_keeps_direction_shapes"] == "fails"


def test_ties_and_too_few_seeds_are_inconclusive_never_holds():
    both_censored = fake_result(kmeans={"steps_to_threshold": [None] * SEEDS}, he={"steps_to_threshold": [None] * SEEDS})
    assert verdicts_of(both_censored)["kmeans_faster_than_he_shapes"] == "inconclusive"
    few = fake_result()
    for ds in few["datasets"].values():
        for record in ds["starts"].values():
            for key in ("steps_to_threshold", "mean_cosine", "best_score_before"):
                record[key] = record[key][:3]
    assert set(verdicts_of(few).values()) == {"inconclusive"}


def test_claims_that_need_a_start_the_study_skipped_do_not_apply():
    result = fake_result()
    for ds in result["datasets"].values():
        del ds["starts"]["he_unit"]
    del result["datasets"]["digits"]
    assert set(verdicts_of(result)) == {"hand_faster_than_he_shapes", "kmeans_faster_than_he_shapes",
                                        "pca_faster_than_he_shapes", "kmeans_looks_like_templates_shapes",
                                        "pca_looks_like_templates_shapes"}


def test_the_explanation_states_the_measured_scale():
    result = fake_result(he={"initial_output_var": [1.9] * SEEDS})
    assert "output variance of 1.9 / 1" in catalogue.explanation(result, "en")
    assert "1.9 / 1" in catalogue.explanation(result, "ja")
    assert catalogue.explanation({}, "en") == catalogue.EXPLANATION["en"]
