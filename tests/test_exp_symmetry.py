"""The symmetry study at tiny settings: identical filters stay identical, random ones do not."""
import json

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from initlab.cli import main
from initlab.errors import InvalidValueError, UnknownNameError
from initlab.experiments import symmetry as study
from initlab.experiments import to_jsonable
from initlab.plots import close
from initlab.plots import symmetry as figures

from figcheck import assert_labelled


@pytest.fixture(scope="module")
def result():
    with threadpool_limits(1):
        return study.run(**study.TINY)


def test_tiny_result_structure(result):
    steps = result["steps"]
    assert steps[0] == 0 and steps[-1] == study.TINY["steps"] and steps == sorted(steps)
    assert result["inits"] == list(study.INITS)
    assert result["layers"] == ["0 Conv2D", "2 Conv2D", "6 Dense"]
    for name, run in result["runs"].items():
        shape = (1, len(steps), len(result["layers"]))
        assert run["similarity_mean"].shape == run["similarity_min"].shape == shape
        assert run["test_acc"].shape == (1, len(steps))
        assert run["loss"].shape == (1, study.TINY["steps"]) and np.isfinite(run["loss"]).all()
        assert run["final_filters"].shape == (16, 1, 3, 3)
    assert "float32_control" not in result                      # TINY skips it
    assert result["claims"] and all(c["holds"] for c in result["claims"]), result["claims"]
    json.dumps(to_jsonable(result))


def test_constant_start_keeps_every_filter_identical(result):
    run = result["runs"]["constant"]
    assert run["similarity_min"].min() >= 1 - 1e-6
    w = run["final_filters"].reshape(16, -1)
    np.testing.assert_allclose(w, np.broadcast_to(w[0], w.shape), rtol=1e-6, atol=1e-12)
    assert np.abs(w[0] - 1 / 9).max() > 0                        # ... though they did move
    assert result["summary"]["constant"]["moved_parameters"] == [
        "0.weight", "0.bias", "2.weight", "2.bias", "6.weight", "6.bias", "8.weight", "8.bias"]


def test_zeros_start_moves_only_the_last_bias(result):
    s = result["summary"]["zeros"]
    assert s["moved_parameters"] == ["8.bias"]
    assert not result["runs"]["zeros"]["final_filters"].any()


def test_random_start_breaks_the_symmetry(result):
    run = result["runs"]["he_normal"]
    assert run["similarity_mean"][:, -1].max() < 0.5
    assert run["similarity_min"][:, -1].min() < 0
    he, const = result["summary"]["he_normal"], result["summary"]["constant"]
    assert he["final_test_acc"] > const["final_test_acc"] + 0.2


def test_float32_control_runs_the_constant_start_again():
    r = study.run(inits=("zeros", "constant"), seeds=(0,), steps=4, every=2, n_train=64, n_test=32)
    assert list(r["float32_control"]) == ["constant"]            # zeros has nothing to split
    assert r["float32_control"]["constant"]["similarity_min"].shape == (1, 3, 3)
    assert "constant_float32_min_similarity" in r


def test_helpers():
    w = study.fan_constant((4, 2, 3, 3), dtype=np.float64)
    assert np.all(w == 1 / 18)
    assert study.similarity_stats(np.ones((3, 1, 2, 2))) == (1.0, 1.0)
    assert study.similarity_stats(np.eye(3).reshape(3, 1, 3, 1)) == (0.0, 0.0)
    assert study.label("he_normal") == "random (He normal)" and study.label("lecun_normal") == "lecun_normal"


def test_bad_options():
    with pytest.raises(UnknownNameError, match="did you mean 'he_normal'"):
        study.check_options(inits=("he_norml",))
    with pytest.raises(InvalidValueError, match="inits"):
        study.check_options(inits=())
    with pytest.raises(InvalidValueError, match="dtype"):
        study.check_options(dtype="float16")
    with pytest.raises(InvalidValueError, match="steps"):
        study.run(steps=0)


@pytest.mark.parametrize("name", list(figures.FIGURES))
def test_figures_are_labelled(result, name):
    fig = figures.FIGURES[name](result)
    assert_labelled(fig, suptitle=True)
    close(fig)


def test_cli_writes_its_files(tmp_path):
    out = tmp_path / "sym"
    args = ["symmetry", "--tiny", "--seeds", "1", "--inits", "constant,he_normal", "--steps", "6",
            "--every", "3", "--out", str(out)]
    assert main(args) == 0
    assert {p.name for p in out.iterdir()} == {"result.json"} | {f"{n}.png" for n in figures.FIGURES}
    saved = json.loads((out / "result.json").read_text())
    assert saved["inits"] == ["constant", "he_normal"] and saved["steps"] == [0, 3, 6]
    assert main(args) == 2                                      # refuses a non-empty folder
    assert main(args + ["--force"]) == 0


@pytest.mark.parametrize("bad, message", [
    (["--inits", "zeros,he_norml"], "unknown initializer 'he_norml'"),
    (["--steps", "0"], "--steps"),
    (["--lr", "-1"], "--lr"),
    (["--inits", ","], "--inits"),
])
def test_cli_refuses_bad_options_before_writing(tmp_path, capsys, bad, message):
    out = tmp_path / "nothing"
    assert main(["symmetry", "--tiny", "--out", str(out), *bad]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("options, name", [({"batch_size": 0}, "batch_size"), ({"n_train": -5}, "n_train"),
                                           ({"n_test": 0}, "n_test"), ({"momentum": 2}, "momentum"),
                                           ({"every": 0}, "every"), ({"lr": 0}, "lr")])
def test_every_number_is_checked(options, name):
    with pytest.raises(InvalidValueError, match=f"symmetry: {name}"):
        study.check_options(**options)


def test_a_diverging_run_stops_by_name_instead_of_writing_null_results():
    from initlab.errors import DivergenceError
    with pytest.raises(DivergenceError, match="symmetry: the loss became (nan|inf|-inf) at step"):
        study.run(**{**study.TINY, "lr": 1e30})
