"""The prefilters study at tiny settings: its structure, its measurements, its figures, its CLI."""
import json

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from initlab.cli import main
from initlab.errors import InvalidValueError, UnknownNameError
from initlab.experiments import prefilters as study
from initlab.experiments import to_jsonable
from initlab.lab.store import plain
from initlab.plots import close
from initlab.plots import prefilters as figures

from figcheck import assert_labelled


@pytest.fixture(scope="module")
def result():
    with threadpool_limits(1):
        return study.run(**study.TINY)


def test_tiny_result_structure(result):
    seeds = len(study.TINY["seeds"])
    assert set(result["datasets"]) == {"shapes", "digits"}
    assert result["starts"] == list(study.STARTS) and "he_unit" in result["starts"]    # the control by default
    for ds in result["datasets"].values():
        steps = ds["steps"]
        assert steps[0] == 0 and steps == sorted(steps) and ds["budget"] == steps[-1]
        assert set(ds["starts"]) == set(study.STARTS)
        for r in ds["starts"].values():
            assert r["seeds"] == list(study.TINY["seeds"])
            acc = np.asarray(r["val_acc"])
            assert acc.shape == (seeds, len(steps)) and np.all((acc >= 0) & (acc <= 1))
            assert np.shape(r["filters_before"]) == np.shape(r["filters_after"]) == (seeds, 8, 1, 3, 3)
            assert np.shape(r["cosine_to_start"]) == (seeds, 8) and len(r["mean_cosine"]) == seeds
            assert np.shape(r["scores_before"]) == (seeds, 8, len(result["template_names"]))
            assert len(r["steps_to_threshold"]) == len(r["relative_change"]) == len(r["best_score_before"]) == seeds
            assert all(v > 0 for v in r["relative_change"])          # training moved the first layer
    claims = {c["id"]: c for c in result["claims"]}
    assert {"kmeans_faster_than_he_shapes", "pca_keeps_direction_digits", "scale_changes_direction_shapes",
            "hand_faster_than_he_unit_digits", "kmeans_looks_like_templates_digits"} <= set(claims)
    assert all(c["verdict"] in ("holds", "fails", "inconclusive") for c in claims.values())
    assert result["timing"]["tasks"] == 2 * len(study.STARTS) * seeds
    json.dumps(to_jsonable(result))                      # results.json can hold it


def test_starts_are_what_they_say(result):
    for ds in result["datasets"].values():
        starts = ds["starts"]
        for name in ("hand", "kmeans", "pca", "he_unit"):     # scaled to unit output variance on the data
            assert all(abs(v - 1) < 0.05 for v in starts[name]["initial_output_var"])
        assert np.min(np.max(starts["hand"]["scores_before"], axis=2)) > 0.999   # the templates themselves
        before = {k: np.asarray(r["filters_before"]) for k, r in starts.items()}
        assert not np.allclose(before["kmeans"], before["pca"])
        # the control: He's very draws, rescaled by one factor per seed
        for he, unit in zip(before["he"], before["he_unit"]):
            factor = np.linalg.norm(unit) / np.linalg.norm(he)
            np.testing.assert_allclose(unit, he * factor, rtol=1e-5, atol=1e-7)
            assert abs(factor - 1) > 0.05


def test_every_start_at_one_seed_shares_the_batches_and_the_rest_of_the_net():
    from initlab.lab.tasks import Task
    config = study.configs(study.check_options(**{**study.TINY, "datasets": ("digits",), "epochs": 1}))
    he, unit = (Task(study.NAME, c, 3) for c in config if c["start"] in ("he", "he_unit"))
    assert he.rng("rest", shared=True).random() == unit.rng("rest", shared=True).random()
    assert he.rng("data", shared=True).random() == unit.rng("data", shared=True).random()
    assert he.rng("init").random() != unit.rng("init").random()


def test_the_same_seed_gives_the_same_bits_in_any_order():
    options = study.check_options(**{**study.TINY, "datasets": ("digits",), "starts": ("he", "pca"), "seeds": (0, 1)})
    tasks = study.tasks(options)
    with threadpool_limits(1):
        forward = [plain(study.run_task(t)) for t in tasks]
        backward = [plain(study.run_task(t)) for t in reversed(tasks)][::-1]
    assert forward == backward


def test_one_seed_shares_everything_but_the_first_layer():
    x = np.random.default_rng(0).normal(size=(40, 1, 8, 8)).astype(np.float32)
    models = [study.build_model(study.first_layer(s, x, 4, 3, np.random.default_rng(1), 500), 3, (8, 8),
                                np.random.default_rng(2)) for s in ("he", "pca")]
    a, b = (m.state_dict() for m in models)
    assert not np.allclose(a["0.weight"], b["0.weight"])
    for key in ("3.weight", "7.weight"):
        np.testing.assert_array_equal(a[key], b[key])


def test_helpers():
    assert study.steps_to([0, 5, 10], [0.1, 0.6, 0.9], 0.5) == 5
    assert study.steps_to([0, 5], [0.1, 0.2], 0.5) is None
    assert study.median_or_none([30, None, 10]) == 30 and study.median_or_none([None, None, 5]) is None
    w = np.random.default_rng(0).normal(size=(3, 1, 3, 3))
    rel, cos = study.movement(w, w)
    assert rel == 0 and np.allclose(cos, 1)
    rel, cos = study.movement(w, -2 * w)
    assert np.isclose(rel, 3) and np.allclose(cos, -1)
    assert study.hand_filters(4, 2, 3).shape == (4, 2, 3, 3)
    with pytest.raises(InvalidValueError, match="hand-made filters"):
        study.hand_filters(20, 1, 3)


def test_bad_options():
    with pytest.raises(UnknownNameError, match="did you mean 'digits'"):
        study.check_options(datasets=("digit",))
    with pytest.raises(UnknownNameError, match="kmeans"):
        study.check_options(starts=("kmean",))
    with pytest.raises(InvalidValueError, match="threshold"):
        study.check_options(thresholds={"shapes": 1.5})
    with pytest.raises(InvalidValueError, match="seed"):
        study.check_options(seeds=())


@pytest.mark.parametrize("name", list(figures.FIGURES))
def test_figures_are_labelled(result, name):
    fig = figures.FIGURES[name](result)
    assert_labelled(fig, suptitle=True)
    close(fig)


def test_filter_mosaic_layout():
    before = np.arange(2 * 1 * 3 * 3, dtype=float).reshape(2, 1, 3, 3) + 1
    image = figures.mosaic(before, -before)
    assert image.shape == (3 + 2 + 3, 3 + 1 + 3)
    np.testing.assert_allclose(image[:3, :3], before[0, 0] / before[0, 0].max())
    np.testing.assert_allclose(image[5:, 4:], -before[1, 0] / before[1, 0].max())
    assert np.isnan(image[3:5]).all()


def test_cli_writes_its_files(tmp_path, capsys):
    out = tmp_path / "pf"
    args = ["prefilters", "--tiny", "--seeds", "2", "--data", "shapes", "--starts", "he,kmeans,he_unit",
            "--out", str(out)]
    assert main(args) == 0
    names = {p.name for p in out.iterdir()}
    assert names == {"result.json", "timing.json", "tasks"} | {f"{n}.png" for n in figures.FIGURES}
    saved = json.loads((out / "result.json").read_text())
    assert set(saved["datasets"]) == {"shapes"} and saved["settings"]["seeds"] == [0, 1]
    assert {c["id"] for c in saved["claims"]} == {"kmeans_faster_than_he_shapes", "kmeans_faster_than_he_unit_shapes",
                                                  "kmeans_keeps_direction_shapes", "scale_changes_direction_shapes",
                                                  "kmeans_looks_like_templates_shapes"}
    assert "timing" not in saved and json.loads((out / "timing.json").read_text())["."]["tasks"] == 6
    printed = " ".join(capsys.readouterr().out.split())
    assert "steps to 30% val. accuracy" in printed and "claims, decided over seeds" in printed
    assert main(args) == 0 and "6 of 6 tasks reused" in " ".join(capsys.readouterr().out.split())     # the same run again: resumed
    assert json.loads((out / "result.json").read_text()) == saved


def test_cli_refuses_bad_options_before_writing(tmp_path, capsys):
    out = tmp_path / "nothing"
    assert main(["prefilters", "--tiny", "--data", "shapes,mnst", "--out", str(out)]) == 2
    assert "unknown dataset 'mnst'" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("options, name", [({"n_train": -5}, "n_train"), ({"n_train": 0}, "n_train"),
                                           ({"epochs": 0}, "epochs"), ({"batch_size": 0}, "batch_size"),
                                           ({"lr": -0.1}, "lr"), ({"momentum": 1.5}, "momentum"),
                                           ({"width": 0}, "width"), ({"eval_every": 0}, "eval_every"),
                                           ({"n_patches": 0}, "n_patches")])
def test_every_number_is_checked(options, name):
    with pytest.raises(InvalidValueError, match=f"prefilters: {name}"):
        study.check_options(**options)
    with pytest.raises(InvalidValueError, match=f"prefilters: {name}"):
        study.run(**{**study.TINY, **options})


@pytest.mark.parametrize("bad", [["--jobs", "0"], ["--backend", "dask"]])
def test_cli_refuses_bad_grid_options_before_writing(tmp_path, capsys, bad):
    out = tmp_path / "never"
    assert main(["prefilters", "--tiny", "--out", str(out), *bad]) == 2
    assert "initlab: error:" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("bad, message", [(["--n-train", "-5"], "--n-train: expected an integer"), (["--epochs", "0"], "epochs"),
                                          (["--width", "0"], "width"), (["--starts", "he,,pca"], "--starts"),
                                          (["--kernel-size", "4"], "kernel_size must be odd"),
                                          (["--kernel-size", "1"], "--kernel-size: expected an integer >= 3"),
                                          (["--width", "14"], "--width: the hand start has 13 hand-made filters"),
                                          (["--kernel-size", "9", "--data", "digits"], "larger than the digits images (8x8)"),
                                          # without --data the default datasets fail too (on shapes): --kernel-size is to blame
                                          (["--data", "digits", "--kernel-size", "17"], "--kernel-size: kernel_size 17 is larger than the digits")])
def test_cli_refuses_bad_numbers_before_writing(tmp_path, capsys, bad, message):
    out = tmp_path / "nothing"
    assert main(["prefilters", "--tiny", "--out", str(out), *bad]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_a_diverging_run_is_a_divergence_error():
    from initlab.errors import DivergenceError
    x = np.random.default_rng(0).normal(size=(40, 1, 8, 8)).astype(np.float32)
    y = np.arange(40) % 3
    model = study.build_model(study.first_layer("he", x, 4, 3, np.random.default_rng(1), 100), 3, (8, 8),
                              np.random.default_rng(2))
    with pytest.raises(DivergenceError, match="prefilters: the loss became"):
        study.train_curve(model, (x, y), (x, y), epochs=20, batch_size=8, lr=1e5, momentum=0.9, eval_every=5, rng=0)
