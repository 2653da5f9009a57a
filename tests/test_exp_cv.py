"""The cross-validation study (`initlab cv`): the grid, its claims, the figure and the command."""
import copy
import csv
import json

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from initlab.cli import main
from initlab.cli import cv as cli_cv
from initlab.cli._options import split_list
from initlab.cli.cv import parse_params, parse_value
from initlab.errors import InvalidValueError, ShapeError, UnknownNameError
from initlab.experiments import cv
from initlab.lab.store import plain
from initlab.plots import cv as cv_plots


@pytest.fixture(scope="module")
def tiny():
    with threadpool_limits(1):
        return cv.run(**cv.TINY)


# --------------------------------------------------------------------------- parsing --param

@pytest.mark.parametrize("text, values", [
    ("1e-4,1e-3,0.1,1", ["1e-4", "1e-3", "0.1", "1"]),
    ("he_normal,glorot_uniform,normal(std=0.01)", ["he_normal", "glorot_uniform", "normal(std=0.01)"]),
    ("truncated_normal(std=1, a=-2, b=2),he_normal", ["truncated_normal(std=1, a=-2, b=2)", "he_normal"]),
    ("constant(value=[1,2]), 'a,b'", ["constant(value=[1,2])", "'a,b'"]),
    ("he_normal*0.1", ["he_normal*0.1"]),
])
def test_split_values_keeps_commas_inside_brackets(text, values):
    assert split_list(text, "--param") == values


@pytest.mark.parametrize("text", ["normal(std=1", "normal)std=1(", "a,,b", "'open", ""])
def test_split_values_refuses_malformed_lists(text):
    with pytest.raises(InvalidValueError, match="--param"):
        split_list(text, "--param")


def test_parse_values_and_params():
    assert [parse_value(v) for v in ("3", "1e-4", "0.5", "true", "None", "he_normal")] == \
        [3, 1e-4, 0.5, True, None, "he_normal"]
    grid = parse_params(["init_scale=1e-4,1e-3,1e-2,0.1,1",
                         "weight_init=he_normal,glorot_uniform,normal(std=0.01)"])
    assert grid == {"init_scale": [1e-4, 1e-3, 1e-2, 0.1, 1],
                    "weight_init": ["he_normal", "glorot_uniform", "normal(std=0.01)"]}
    with pytest.raises(InvalidValueError, match="given twice"):
        parse_params(["lr=0.1", "lr=0.2"])
    with pytest.raises(InvalidValueError, match="NAME=V1"):
        parse_params(["init_scale"])


def test_grid_is_checked_before_anything_runs():
    with pytest.raises(UnknownNameError, match="init_scal"):
        cv.check_grid([{"init_scal": [1]}])
    with pytest.raises(UnknownNameError, match="he_normal"):
        cv.check_grid([{"weight_init": ["he_norml"]}])
    with pytest.raises(InvalidValueError, match="seed"):
        cv.check_grid([{"random_state": [1, 2]}])
    with pytest.raises(InvalidValueError, match="scheduler"):
        cv.run(backend="dask")
    with pytest.raises(InvalidValueError, match="folds"):
        cv.run(folds=1)
    with pytest.raises(InvalidValueError, match="lr"):    # a bad value fails before any fit
        cv.run(grid={"lr": [-1.0]}, n=60)
    with pytest.raises(ShapeError, match="lenet5"):         # a net that cannot take the images, too
        cv.check_options(grid={"model": ["small_cnn", "lenet5"]}, n=60)
    with pytest.raises(InvalidValueError, match="folds: expected at most"):
        cv.check_options(folds=30, n=60, seeds=(0, 1))


# --------------------------------------------------------------------------- the study

def test_tiny_study_structure(tiny):
    n_cands, seeds, folds = len(cv.TINY["scales"]) + len(cv.TINY["schemes"]), len(cv.TINY["seeds"]), cv.TINY["folds"]
    assert len(tiny["candidates"]) == n_cands and len(tiny["searches"]) == seeds
    for search in tiny["searches"]:
        assert all(len(v) == n_cands for v in search["cv_results"].values())
        assert not set(cv.TIMES) & set(search["cv_results"])          # clock readings only under timing
        assert set(search["seeds"]) == {"split", "folds", "fits"}
    assert len({s["seeds"]["split"] for s in tiny["searches"]}) == seeds     # each seed its own split
    means = [c["mean"] for c in tiny["candidates"] if c["mean"] is not None]
    assert means == sorted(means, reverse=True)
    assert [c["mean"] for c in tiny["candidates"][len(means):]] == [None] * (n_cands - len(means))  # last
    assert [c["rank"] for c in tiny["candidates"]] == list(range(1, n_cands + 1))
    for c in tiny["candidates"]:
        assert np.shape(c["splits"]) == (seeds, folds) and len(c["scores"]) == seeds
        assert c["failed"] == 0 or c["init_scale"] == 1.0   # only std 1 may diverge
        assert c["scores"] == pytest.approx([np.mean([0.0 if v is None else v for v in fold]) for fold in c["splits"]])
        if c["params"]["weight_init"] == cv.BASE_INIT:       # normal(std=1) x s has std s
            assert c["init_std"] == pytest.approx(c["init_scale"], rel=0.05)
    best = tiny["best"]
    assert best["params"] == {"weight_init": "he_normal", "init_scale": 1.0} and tiny["best_score"] > 0.5
    assert all(t > 0.5 for t in tiny["test_accuracy"])
    assert {c["id"] for c in tiny["claims"]} == {"too_small_stalls", "too_large_loses", "he_normal_near_best"}
    # two seeds can never reach p < 0.05: every claim says so instead of "holds"
    assert {c["verdict"] for c in tiny["claims"]} == {"inconclusive"}
    assert tiny["timing"]["tasks"] == seeds
    json.dumps(tiny)   # plain data


def test_the_searches_are_the_same_bits_in_any_order_and_the_seeds_change_the_folds():
    options = cv.check_options(grid={"init_scale": [1e-4, 0.1]}, n=150, folds=2, epochs=1, seeds=(3, 4))
    tasks = cv.tasks(options)
    with threadpool_limits(1):
        forward = [plain(cv.run_task(t)) for t in tasks]
        again = [plain(cv.run_task(t)) for t in reversed(tasks)][::-1]
    scores = lambda r: [r["cv_results"][f"split{k}_test_score"] for k in range(2)]
    assert [scores(r) for r in forward] == [scores(r) for r in again]
    assert [r["test_accuracy"] for r in forward] == [r["test_accuracy"] for r in again]
    assert forward[0]["seeds"] == cv.seeds_of(3) != cv.seeds_of(4) == forward[1]["seeds"]
    assert scores(forward[0]) != scores(forward[1])
    # the split, folds and fits depend on the seed alone: other epochs search the same splits
    assert cv.seeds_of(3) == cv.seeds_of(3) and all(isinstance(v, int) for v in cv.seeds_of(3).values())


def test_figure_is_labelled_and_draws_diverged_candidates(tiny):
    fig = cv_plots.accuracy_vs_std(tiny)
    ax = fig.axes[0]
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel() and ax.get_legend()
    assert ax.get_xscale() == "log"
    broken = copy.deepcopy(tiny)
    broken["candidates"][-1].update(mean=None, std=None)
    fig = cv_plots.accuracy_vs_std(broken)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "diverged (in some fold)" in labels


# --------------------------------------------------------------------------- the command

def test_cv_command_writes_its_files(tmp_path, capsys):
    out = tmp_path / "cv"
    argv = ["cv", "--tiny", "--out", str(out), "--n", "150", "--folds", "2", "--epochs", "1", "--seeds", "1,2",
            "--jobs", "1", "--param", "init_scale=1e-4,0.1", "--param", "weight_init=he_normal,normal(std=1)"]
    assert main(argv) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "cv_accuracy_vs_std.png", "cv_results.csv", "cv_results.json", "result.json", "tasks", "timing.json"]
    with open(out / "cv_results.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 8 and {"seed", "param_init_scale", "param_weight_init", "mean_test_score"} <= set(rows[0])
    assert sorted(r["seed"] for r in rows) == ["1"] * 4 + ["2"] * 4
    assert sorted(r["param_weight_init"] for r in rows if r["seed"] == "1") == \
        ["he_normal", "he_normal", "normal(std=1)", "normal(std=1)"]
    results = json.loads((out / "cv_results.json").read_text())
    assert set(results) == {"1", "2"} and len(results["1"]["params"]) == 4 and len(results["2"]["split1_test_score"]) == 4
    result = json.loads((out / "result.json").read_text())
    assert result["settings"]["seeds"] == [1, 2] and [s["seed"] for s in result["searches"]] == [1, 2]
    assert "timing" not in result and json.loads((out / "timing.json").read_text())["."]["tasks"] == 2
    printed = " ".join(capsys.readouterr().out.split())
    assert "ranked by validation accuracy" in printed and "best:" in printed and "claims, decided over seeds" in printed
    # the same command again reuses the finished searches and writes the same result
    assert main(argv) == 0 and "2 of 2 tasks reused" in " ".join(capsys.readouterr().out.split())
    assert json.loads((out / "result.json").read_text()) == result


def test_cv_command_takes_the_labs_grid_options_not_n_jobs(tmp_path, capsys):
    out = tmp_path / "x"
    for argv, message in ((["--jobs", "0"], "--jobs: expected a whole number of worker processes from 1 to 256"),
                          (["--n-jobs", "2"], "unrecognized arguments: --n-jobs"),
                          (["--seed", "3"], "--seed: this command takes --seeds")):
        try:
            status = main(["cv", "--tiny", "--out", str(out), *argv])
        except SystemExit as exc:          # argparse's own usage errors
            status = exc.code
        assert status == 2
        assert message in capsys.readouterr().err
        assert not out.exists()


@pytest.mark.parametrize("argv, message", [
    (["--param", "init_scale"], "NAME=V1"),
    (["--param", "weight_init=he_normal,normal(std=1"], "unclosed"),
    (["--param", "colour=red"], "unknown CNNClassifier parameter"),
    (["--backend", "dask"], "scheduler"),
    (["--dataset", "bogus"], "unknown dataset 'bogus'"),
    (["--dataset", "digit"], "did you mean 'digits'"),
    (["--dataset", "mnist:"], "mnist:PATH"),
    (["--model", "lenet9"], "unknown model 'lenet9'; did you mean 'lenet5'"),
    (["--n", "-3"], "--n: expected an integer >= 1, got -3"),
    (["--epochs", "0"], "--epochs: expected an integer >= 1"),
    (["--lr", "-1"], "--lr: expected a value in (0, inf)"),
    (["--clip", "0"], "--clip: expected a value in (0, inf)"),
])
def test_cv_command_refuses_bad_options(tmp_path, capsys, argv, message):
    assert main(["cv", "--tiny", "--out", str(tmp_path / "x"), *argv]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_cv_command_refuses_a_missing_mnist_folder_before_making_out(tmp_path, capsys):
    assert main(["cv", "--tiny", "--out", str(tmp_path / "x"), "--dataset", f"mnist:{tmp_path / 'nope'}"]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    assert cli_cv.check_dataset("digits") == "digits" and cli_cv.check_dataset(f"mnist:{tmp_path}")
