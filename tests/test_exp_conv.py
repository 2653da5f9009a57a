"""The convolution study at tiny settings: naive == fast for every seed, the X kernel's peak, claims
that can fail, timing kept out of the result's reproducible part."""
import json

import numpy as np
import pytest

from initlab.claims import conv as claims
from initlab.errors import InvalidValueError
from initlab.experiments import conv as study
from initlab.experiments import to_jsonable
from initlab.lab.study import without_timing
from initlab.plots import close
from initlab.plots import conv as figures

from figcheck import assert_labelled


@pytest.fixture(scope="module")
def result():
    return study.run(**study.TINY)


def verdict(result, claim_id):
    return next(c for c in claims.CLAIMS if c.id == claim_id).rule(result).verdict


def test_tiny_result_structure_and_claims_hold(result):
    n = len(study.TINY["seeds"])
    assert np.shape(result["feature_map"]) == np.shape(result["image"]) == (12, 12)
    assert len(result["max_relative_difference"]) == len(result["image_at_peak"]) == n
    assert max(result["max_relative_difference"]) < 1e-5
    assert {c["id"]: c["verdict"] for c in result["claims"]} == {"fast_equals_naive": "holds",
                                                               "peak_on_the_x": "holds"}
    assert all(c["k"] == c["n"] == n for c in result["claims"])
    json.dumps(to_jsonable(result))


def test_timing_is_kept_out_of_the_reproducible_result(result):
    assert set(result["speed"]) == {"timing"} and result["speed"]["timing"]["speedup"] > 0
    again = study.run(**study.TINY)
    assert to_jsonable(without_timing(again)) == to_jsonable(without_timing(result))   # same bits, timing aside
    assert "seconds" not in json.dumps(to_jsonable(without_timing(result)))


def test_seeds_draw_different_images(result):
    tasks = study.tasks(study.check_options(**study.TINY))
    a, b = (study.run_task(t) for t in tasks[:2])
    assert not np.array_equal(a["image"], b["image"])


def test_negative_controls_fail(result):
    off = dict(result, max_relative_difference=[0.0, 1e-3, 0.0])        # one seed's paths disagree
    assert verdict(off, "fast_equals_naive") == "fails"
    dark = dict(result, image_at_peak=[0.9, 0.1, 0.9], image_max=[1.0, 1.0, 1.0])   # a peak off the X
    assert verdict(dark, "peak_on_the_x") == "fails"


def test_explanation_states_the_measured_speed(result):
    text = claims.explanation(result, "en")
    assert f"1/{result['speed']['timing']['speedup']:.0f}" in text
    assert claims.explanation({}, "ja") == claims.EXPLANATION["ja"]


def test_figure_is_labelled(result):
    fig = figures.feature_map(result)
    assert_labelled(fig)
    close(fig)


@pytest.mark.parametrize("options, name", [({"size": 4}, "size"), ({"batch": 0}, "batch"),
                                           ({"seeds": ()}, "seeds"), ({"repeats": 0}, "repeats")])
def test_bad_options(options, name):
    with pytest.raises(InvalidValueError, match=name):
        study.check_options(**options)
