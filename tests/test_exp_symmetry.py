"""The symmetry study at tiny settings: identical filters stay identical, random ones do not;
every claim has a negative control that makes it fail."""
import copy
import json

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from initlab.claims import symmetry as catalogue
from initlab.cli import main
from initlab.errors import DivergenceError, InvalidValueError, UnknownNameError
from initlab.experiments import symmetry as study
from initlab.experiments import to_jsonable
from initlab.lab.claims import decide
from initlab.plots import close
from initlab.plots import symmetry as figures

from figcheck import assert_labelled


@pytest.fixture(scope="module")
def result():
    with threadpool_limits(1):
        return study.run(**study.TINY)


def verdicts_of(result):
    return {c["id"]: c["verdict"] for c in decide(catalogue.CLAIMS, result)}


def test_tiny_result_structure(result):
    steps, seeds = result["steps"], list(study.TINY["seeds"])
    assert steps[0] == 0 and steps[-1] == study.TINY["steps"] and steps == sorted(steps)
    assert result["inits"] == list(study.INITS) and result["last_bias"] == "8.bias"
    assert result["layers"] == ["0 Conv2D", "2 Conv2D", "6 Dense"]
    for name, run in result["runs"].items():
        assert run["seeds"] == seeds
        assert np.shape(run["similarity_mean"]) == np.shape(run["similarity_min"]) == (len(seeds), len(steps), 3)
        assert np.shape(run["test_acc"]) == (len(seeds), len(steps))
        assert np.shape(run["loss"]) == (len(seeds), study.TINY["steps"]) and np.isfinite(run["loss"]).all()
        assert np.shape(run["final_filters"]) == (16, 1, 3, 3)
    assert "float32_control" not in result                      # TINY skips it
    assert {c["id"] for c in result["claims"]} == {"symmetric_stays_identical", "zeros_only_last_bias",
                                                   "constant_moves", "random_stays_different",
                                                   "constant_behind_random", "zeros_behind_random"}
    assert result["timing"]["tasks"] == len(study.INITS) * len(seeds)
    json.dumps(to_jsonable(result))


def test_the_deterministic_claims_hold_and_two_seeds_are_too_few_for_a_paired_one(result):
    v = verdicts_of(result)
    assert v["symmetric_stays_identical"] == v["zeros_only_last_bias"] == v["constant_moves"] == "holds"
    assert v["random_stays_different"] == "holds"
    assert v["constant_behind_random"] == v["zeros_behind_random"] == "inconclusive"   # 2 seeds: p >= 1/4


def test_constant_start_keeps_every_filter_identical(result):
    run = result["runs"]["constant"]
    assert np.min(run["similarity_min"]) >= 1 - 1e-6
    w = np.asarray(run["final_filters"]).reshape(16, -1)
    np.testing.assert_allclose(w, np.broadcast_to(w[0], w.shape), rtol=1e-6, atol=1e-12)
    assert np.abs(w[0] - 1 / 9).max() > 0                        # ... though they did move
    assert result["summary"]["constant"]["moved_parameters"] == [
        "0.weight", "0.bias", "2.weight", "2.bias", "6.weight", "6.bias", "8.weight", "8.bias"]


def test_zeros_start_moves_only_the_last_bias(result):
    assert result["summary"]["zeros"]["moved_parameters"] == ["8.bias"]
    assert not np.any(result["runs"]["zeros"]["final_filters"])


def test_random_start_breaks_the_symmetry(result):
    run = result["runs"]["he_normal"]
    assert np.max(np.asarray(run["similarity_mean"])[:, -1]) < 0.5
    assert np.min(np.asarray(run["similarity_min"])[:, -1]) < 0
    he, const = result["summary"]["he_normal"], result["summary"]["constant"]
    assert he["final_test_acc"] > const["final_test_acc"] + 0.2


# --------------------------------------------------------------------------- negative controls

def with_seeds(result, n=8, acc_random=0.9, acc_symmetric=0.2):
    """`result` as if run over n seeds with the given final accuracies (for the paired claims)."""
    fake = copy.deepcopy(result)
    for name, s in fake["summary"].items():
        acc = acc_random if name == "he_normal" else acc_symmetric
        s["final_test_acc_per_seed"] = [acc + 0.001 * i for i in range(n)]
    return fake


def test_paired_claims_hold_over_eight_seeds_and_fail_when_swapped(result):
    assert verdicts_of(with_seeds(result))["constant_behind_random"] == "holds"
    swapped = verdicts_of(with_seeds(result, acc_random=0.2, acc_symmetric=0.9))
    assert swapped["constant_behind_random"] == swapped["zeros_behind_random"] == "fails"


def test_a_random_start_labelled_symmetric_fails(result):
    fake = copy.deepcopy(result)
    fake["summary"]["he_normal"]["symmetric_start"] = True
    assert verdicts_of(fake)["symmetric_stays_identical"] == "fails"


def test_filters_that_split_in_one_seed_fail(result):
    fake = copy.deepcopy(result)
    fake["summary"]["constant"]["lowest_similarity_per_seed"][1] = 0.3
    assert verdicts_of(fake)["symmetric_stays_identical"] == "fails"


def test_a_moving_weight_under_zeros_fails(result):
    fake = copy.deepcopy(result)
    fake["summary"]["zeros"]["moved_parameters_per_seed"][0] = ["0.weight", "8.bias"]
    assert verdicts_of(fake)["zeros_only_last_bias"] == "fails"


def test_a_frozen_weight_under_constant_fails(result):
    fake = copy.deepcopy(result)
    fake["summary"]["constant"]["smallest_weight_change_per_seed"][0] = 0.0
    assert verdicts_of(fake)["constant_moves"] == "fails"


def test_a_symmetric_start_labelled_random_fails(result):
    fake = copy.deepcopy(result)
    fake["summary"]["constant"]["symmetric_start"] = False      # constant now counts as a random start
    fake["summary"]["zeros"]["symmetric_start"] = False
    assert verdicts_of(fake)["random_stays_different"] == "fails"


def test_float32_control_is_an_illustration_never_evidence():
    with threadpool_limits(1):
        r = study.run(inits=("zeros", "constant"), seeds=(0,), steps=4, every=2, n_train=64, n_test=32,
                      float32_control=True)
    assert list(r["float32_control"]) == ["constant"]            # zeros has nothing to split
    assert np.shape(r["float32_control"]["constant"]["similarity_min"]) == (1, 3, 3)
    record = next(c for c in r["claims"] if c["id"] == "float32_control")
    assert record["verdict"] == "illustration" and record["evidence"] is False and "BLAS" in record["why"]
    assert "float32 control" in catalogue.explanation(r, "en") and "float32" in catalogue.explanation(r, "ja")
    assert "float32 control" not in catalogue.explanation({}, "en")


# --------------------------------------------------------------------------- pieces, options, CLI

def test_the_same_seed_gives_the_same_bits_in_any_order():
    options = study.check_options(**{**study.TINY, "steps": 4, "every": 2})
    tasks = study.tasks(options)
    assert [study.run_task(t) for t in tasks] == [study.run_task(t) for t in reversed(tasks)][::-1]


def test_helpers():
    w = study.fan_constant((4, 2, 3, 3), dtype=np.float64)
    assert np.all(w == 1 / 18)
    assert study.similarity_stats(np.ones((3, 1, 2, 2))) == (1.0, 1.0)
    assert study.similarity_stats(np.eye(3).reshape(3, 1, 3, 1)) == (0.0, 0.0)
    assert study.label("he_normal") == "random (He normal)" and study.label("lecun_normal") == "lecun_normal"
    assert study.symmetric_nonzero("constant") and not study.symmetric_nonzero("zeros")
    assert not study.symmetric_nonzero("he_normal")


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


def test_cli_writes_its_files(tmp_path, capsys):
    out = tmp_path / "sym"
    args = ["symmetry", "--tiny", "--seeds", "1", "--inits", "constant,he_normal", "--steps", "6",
            "--every", "3", "--out", str(out), "--jobs", "1"]
    assert main(args) == 0
    assert {p.name for p in out.iterdir()} == {"result.json", "timing.json", "tasks"} | {
        f"{n}.png" for n in figures.FIGURES}
    saved = json.loads((out / "result.json").read_text())
    assert saved["inits"] == ["constant", "he_normal"] and saved["steps"] == [0, 3, 6] and "timing" not in saved
    assert "claims, decided over seeds" in capsys.readouterr().out
    assert main(args) == 0 and "2 of 2 tasks reused" in capsys.readouterr().out    # the same run again: resumed
    assert json.loads((out / "result.json").read_text()) == saved


@pytest.mark.parametrize("bad, message", [
    (["--inits", "zeros,he_norml"], "unknown initializer 'he_norml'"),
    (["--steps", "0"], "--steps"),
    (["--lr", "-1"], "--lr"),
    (["--inits", ","], "--inits"),
    (["--batch-size", "0"], "--batch-size"),
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
    with pytest.raises(DivergenceError, match="symmetry: the loss became (nan|inf|-inf) at step"):
        study.run(**{**study.TINY, "seeds": (0,), "inits": ("he_normal",), "lr": 1e30})


def test_two_worker_processes_give_the_same_bits():
    from initlab.lab.runner import Executor
    from initlab.lab.study import run_study, without_timing
    options = {**study.TINY, "steps": 4, "every": 2}
    one = run_study(study, options, executor=Executor(jobs=1))
    two = run_study(study, options, executor=Executor(jobs=2))
    assert json.dumps(to_jsonable(without_timing(one))) == json.dumps(to_jsonable(without_timing(two)))
