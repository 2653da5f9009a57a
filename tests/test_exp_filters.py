"""The filters study at tiny settings: kernels over training, template scores against chance,
claims decided over seeds and their negative controls."""
import copy
import json

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from initlab import filters as hand
from initlab import init
from initlab.claims import filters as claims
from initlab.cli import main
from initlab.diagnostics import template_scores
from initlab.errors import DivergenceError, InvalidValueError, UnknownNameError
from initlab.experiments import filters as study
from initlab.experiments import to_jsonable
from initlab.plots import close
from initlab.plots import filters as figures

from figcheck import assert_labelled


@pytest.fixture(scope="module")
def result():
    with threadpool_limits(1):
        return study.run(**study.TINY)


def verdict(result, claim_id):
    return next(c for c in claims.CLAIMS if c.id == claim_id).rule(result).verdict


def test_tiny_result_structure(result):
    steps, names = result["steps"], result["template_names"]
    seeds = len(study.TINY["seeds"])
    assert steps == [0, 4, 8, 12] and result["curve_steps"] == [0, 2, 4, 6, 8, 10, 12]
    assert result["starts"] == ["he_normal", "hand"] and result["random_starts"] == ["he_normal"]
    assert names == list(hand.templates(5))
    for start, run in result["runs"].items():
        assert run["scores"].shape == (seeds, len(steps), 8, len(names))
        assert run["val_acc"].shape == (seeds, len(result["curve_steps"]))
        assert run["best_before"].shape == run["best_after"].shape == (seeds, len(names))
        assert run["auc"].shape == run["x_class_acc"].shape == run["test_acc"].shape == (seeds,)
        assert run["final_kernels"].shape == (8, 5, 5)
        assert np.all((run["scores"] >= 0) & (run["scores"] <= 1 + 1e-9))
    assert result["runs"]["he_normal"]["percentile_after"].shape == (seeds, len(names))
    assert "percentile_after" not in result["runs"]["hand"]              # no chance level for a fixed start
    null = result["null"]["he_normal"]
    assert np.all(null["p5"] < null["p50"]) and np.all(null["p50"] < null["p95"])
    assert np.shape(result["evolution"]["weights"]) == (len(steps), 8, 5, 5)
    assert np.shape(result["feature_maps"]["maps"]) == (8, 16, 16)
    assert np.shape(result["feature_maps"]["x_shape_map"]) == (16, 16)
    assert set(result["answer"]) == set(names)
    assert {c["id"] for c in result["claims"]} == {c.id for c in claims.CLAIMS}
    json.dumps(to_jsonable(result))


def test_the_measurements_mean_what_they_say(result):
    run = result["runs"]["he_normal"]
    # the scores recorded at the end are the template scores of the kernels kept at the end
    w = np.asarray(result["evolution"]["weights"][-1])[:, None]
    np.testing.assert_allclose(run["scores"][0, -1], template_scores(w)[0])
    assert np.all(run["relative_change"] > 0)                             # training moved the kernels
    # the hand start begins with the bank itself: its x_shape kernel scores 1 against the X
    x, j = result["template_names"].index("x"), study.HAND_FILTERS.index("x_shape")
    assert result["runs"]["hand"]["scores"][0, 0, j, x] == pytest.approx(1.0)
    closest = result["closest"]
    assert closest["start"] == "he_normal"
    assert closest["score"] == pytest.approx(run["best_after"][:, x].max())          # the best over every run
    corr = np.corrcoef(closest["kernel"].ravel(), hand.x_shape(5).ravel())[0, 1]
    assert corr == pytest.approx(closest["score"])                         # sign flipped to match the X
    x_class = result["settings"]["classes"].index("x")
    assert x_class == 0 and np.shape(result["feature_maps"]["image"]) == (16, 16)


def test_hand_start_and_chance_level():
    bank = study.hand_bank(8, 5)
    assert bank.shape == (8, 1, 5, 5)
    np.testing.assert_allclose(np.linalg.norm(bank.reshape(8, -1), axis=1), np.sqrt(2), rtol=1e-6)
    model = study.build_model("hand_frozen", 8, 5, 8, (16, 16), None, np.random.default_rng(0))
    assert not model[0].trainable and model[3].trainable
    one = study.build_model("he_normal", 4, 5, 8, (16, 16), 0, np.random.default_rng(0), "one_conv")
    assert model.forward(np.zeros((2, 1, 16, 16), np.float32)).shape == one.forward(np.zeros((2, 1, 16, 16))).shape
    best, single, scores = study.null_distribution("he_normal", 8, 5, 300, np.random.default_rng(0))
    assert best.shape == (300, 9) and single.shape == (2400,) and scores.shape == (2400, 9)
    assert 0.45 < np.percentile(best[:, 0], 95) < 0.62                   # the X's chance level at 5x5
    assert study.percentile_of(1.0, best[:, 0]) == 100.0                 # the X itself beats every draw
    assert study.percentile_of(0.5, [0.1, 0.4, 0.6, 0.9]) == 50.0


def test_bad_options():
    with pytest.raises(UnknownNameError, match="did you mean 'he_normal'"):
        study.check_options(starts=("he_norml",))
    with pytest.raises(InvalidValueError, match="hand-made filters"):
        study.check_options(starts=("hand",), width=9)
    with pytest.raises(InvalidValueError, match="odd"):
        study.check_options(kernel_size=4)
    with pytest.raises(UnknownNameError, match="two_conv"):
        study.check_options(model="three_conv")
    with pytest.raises(InvalidValueError, match="seeds"):
        study.check_options(seeds=())


def test_a_diverging_run_stops_by_name_instead_of_scoring_nan_filters():
    with pytest.raises(DivergenceError, match="filters: the loss became (nan|inf|-inf) at step"):
        study.run(**{**study.TINY, "starts": ("he_normal",), "seeds": (0,), "lr": 1e30, "steps": 4})


def test_every_start_at_one_seed_shares_the_rest_of_the_net_and_the_batches():
    options = study.check_options(**study.TINY)
    tasks = [t for t in study.tasks(options) if t.seed == 0 and t.config["kind"] == "train"]
    he, made = tasks
    assert he.rng("rest", shared=True).normal() == made.rng("rest", shared=True).normal()
    assert he.rng("data", shared=True).normal() == made.rng("data", shared=True).normal()
    assert [t.config["start"] for t in study.tasks(options) if t.config["kind"] == "null"] == ["he_normal"]
    hand_only = study.check_options(**{**study.TINY, "starts": ("hand",)})
    assert [t.config["start"] for t in study.tasks(hand_only) if t.config["kind"] == "null"] == ["he_normal"]


# ------------------------------------------------------------------ negative controls: a wrong result fails

def _with(result, start, key, values):
    wrong = copy.deepcopy(result)
    wrong["runs"][start][key] = np.asarray(values, dtype=float)
    return wrong


def test_a_learned_x_fails_x_not_learned(result):
    x = result["template_names"].index("x")
    best = np.tile(np.asarray(result["runs"]["he_normal"]["best_after"])[:1], (9, 1))
    best[:, x] = 0.99                                                    # 9 runs, each far above chance
    assert verdict(_with(result, "he_normal", "best_after", best), "x_not_learned") == "fails"
    best[:, x] = 0.05
    assert verdict(_with(result, "he_normal", "best_after", best), "x_not_learned") == "holds"


def test_an_x_above_the_edges_fails_edges_over_x(result):
    names = result["template_names"]
    pct = np.full((9, len(names)), 10.0)
    pct[:, names.index("x")] = 99.0
    assert verdict(_with(result, "he_normal", "percentile_after", pct), "edges_over_x") == "fails"


def test_a_net_at_chance_fails_random_learns(result):
    assert verdict(_with(result, "he_normal", "test_acc", [0.125] * 9), "random_learns") == "fails"
    assert verdict(_with(result, "he_normal", "test_acc", [0.99] * 9), "random_learns") == "holds"


def test_swapped_learning_curves_fail_hand_faster(result):
    slow, fast = np.linspace(0.3, 0.4, 9), np.linspace(0.8, 0.9, 9)
    wrong = _with(_with(result, "hand", "auc", slow), "he_normal", "auc", fast)
    assert verdict(wrong, "hand_faster") == "fails"
    right = _with(_with(result, "hand", "auc", fast), "he_normal", "auc", slow)
    assert verdict(right, "hand_faster") == "holds"


def test_a_hand_x_that_became_noise_fails_hand_x_kept(result):
    scores = np.repeat(np.asarray(result["runs"]["hand"]["scores"])[:1], 9, axis=0)
    scores[:, -1, :, result["template_names"].index("x")] = 0.05
    assert verdict(_with(result, "hand", "scores", scores), "hand_x_kept") == "fails"
    scores[:, -1, study.HAND_FILTERS.index("x_shape"), result["template_names"].index("x")] = 1.0
    assert verdict(_with(result, "hand", "scores", scores), "hand_x_kept") == "holds"


def test_too_few_seeds_is_inconclusive(result):
    one = _with(_with(result, "hand", "auc", [0.9]), "he_normal", "auc", [0.5])
    assert verdict(one, "hand_faster") == "inconclusive"


def test_one_conv_names_no_second_layer(result):
    one = copy.deepcopy(result)
    one["settings"]["model"] = "one_conv"
    for lang in ("en", "ja"):
        text = claims.explanation(one, lang)
        assert "second" not in text and "2 番目" not in text
        assert "conv layer" not in claims.explanation(one, "en").split("Measured")[1]
    for c in claims.CLAIMS:
        assert "second" not in c.en and "downstream" not in c.en and "layer higher" not in c.en
    text = claims.explanation(result, "en")
    assert f"{np.median(result['runs']['he_normal']['relative_change']):.0%}" in text


@pytest.mark.parametrize("name", list(figures.FIGURES))
def test_figures_are_labelled(result, name):
    fig = figures.FIGURES[name](result)
    assert_labelled(fig, suptitle=True)
    close(fig)


def test_snapshot_rows_favour_the_early_steps():
    steps = list(range(0, 601, 25))
    rows = figures.snapshot_rows(steps)
    assert [steps[i] for i in rows] == [0, 75, 150, 300, 600]
    assert figures.snapshot_rows([0, 4, 8]) == [0, 1, 2]


def test_gif_of_the_kernels(result, tmp_path):
    path = figures.write_gif(result, tmp_path / "evo.gif")
    from PIL import Image
    with Image.open(path) as gif:
        assert gif.n_frames == len(result["steps"])


def test_cli_writes_its_files(tmp_path, capsys):
    out = tmp_path / "flt"
    args = ["filters", "--tiny", "--seeds", "1", "--jobs", "1", "--starts", "he_normal,hand_frozen", "--out", str(out)]
    assert main(args) == 0
    expected = {"result.json", "timing.json", "tasks", "filters_evolution.gif"} | {f"{n}.png" for n in figures.FIGURES}
    assert {p.name for p in out.iterdir()} == expected
    saved = json.loads((out / "result.json").read_text())
    assert saved["starts"] == ["he_normal", "hand_frozen"] and saved["claims"] and "timing" not in saved
    assert saved["runs"]["hand_frozen"]["relative_change"] == [0.0]   # a frozen layer never moves
    assert "claims, decided over seeds" in capsys.readouterr().out
    assert main(args) == 0 and "3 of 3 tasks reused" in capsys.readouterr().out
    assert json.loads((out / "result.json").read_text()) == saved


@pytest.mark.parametrize("bad, message", [
    (["--starts", "he_normal,hnd"], "unknown filters start 'hnd'; did you mean 'hand'"),
    (["--width", "12"], "hand-made filters"),
    (["--steps", "0"], "--steps"),
    (["--starts", ""], "--starts"),
])
def test_cli_refuses_bad_options_before_writing(tmp_path, capsys, bad, message):
    out = tmp_path / "nothing"
    assert main(["filters", "--tiny", "--out", str(out), *bad]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_chance_level_draws_whole_layers_of_the_real_shape():
    layers = study.null_layers("orthogonal", 6, 5, 4, np.random.default_rng(7))
    assert layers.shape == (4, 6, 1, 5, 5)
    for w in layers:                                   # each draw: orthonormal rows, as the real (6, 1, 5, 5) layer
        rows = w.reshape(6, -1)
        np.testing.assert_allclose(rows @ rows.T, np.eye(6), atol=1e-10)
    rng = np.random.default_rng(7)                     # the draws are successive layers from the one rng
    for w in layers:
        np.testing.assert_array_equal(w, init.initialize("orthogonal", (6, 1, 5, 5), rng, dtype=np.float64))
    best, single, _ = study.null_distribution("orthogonal", 6, 5, 4, np.random.default_rng(7))
    scores, _ = template_scores(layers.reshape(24, 1, 5, 5))
    np.testing.assert_array_equal(best, scores.reshape(4, 6, -1).max(axis=1))
    assert single.shape == (24,)


@pytest.mark.parametrize("options, name", [({"batch_size": 0}, "batch_size"), ({"momentum": 2}, "momentum"),
                                           ({"weight_decay": -1}, "weight_decay"), ({"n_images": 10}, "n_images"),
                                           ({"n_null": 5}, "n_null"), ({"eval_every": 0}, "eval_every"),
                                           ({"lr": 0}, "lr")])
def test_every_number_is_checked(options, name):
    with pytest.raises(InvalidValueError, match=f"filters: {name}"):
        study.check_options(**options)


def test_the_closest_kernel_and_its_start_are_flipped_together():
    x_kernel = hand.x_shape(3).astype(np.float64)
    start = np.arange(9.0).reshape(3, 3)                  # correlates with X in neither sign on purpose
    run = {"scores": [np.array([[0.1]]), np.array([[0.9]])], "weights": [start[None], -x_kernel[None]]}
    best = study._closest({"he_normal": [run]}, ["he_normal"], [0], 3, ["x"])
    np.testing.assert_array_equal(best["kernel"], x_kernel)          # -X flipped to +X ...
    np.testing.assert_array_equal(best["kernel_at_init"], -start)    # ... and its start with it
