"""The signal-propagation study at tiny settings: structure, key claims, figures, CLI."""
import json

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from initlab.cli import main
from initlab.errors import InvalidValueError, UnknownNameError
from initlab.experiments import propagate as study
from initlab.experiments import to_jsonable
from initlab.plots import close
from initlab.plots import propagate as figures


@pytest.fixture(scope="module")
def result():
    with threadpool_limits(1):
        return study.run(**study.TINY)


def claim_named(result, start):
    found = [c for c in result["claims"] if c["claim"].startswith(start)]
    assert len(found) == 1, [c["claim"] for c in result["claims"]]
    return found[0]


def test_tiny_result_structure(result):
    depth, seeds = study.TINY["depth"], len(study.TINY["seeds"])
    assert result["layers"] == list(range(1, depth + 1))
    assert set(result["configs"]) == {"relu", "tanh"}
    for act, configs in result["configs"].items():
        assert list(configs) == list(study.TINY["inits"])
        for name, c in configs.items():
            for key in ("act_std", "pre_var", "grad_std", "theory_act_std", "theory_grad_std", "zero_fraction"):
                assert c[key].shape == (seeds, depth), (act, name, key)
            assert c["act_std_gmean"].shape == (depth,)
            assert c["hist"]["layers"] == result["hist_layers"] == [1, 2, 4, 6, 8]
            assert all(np.sum(counts) == study.TINY["batch"] * 8 * 8 * 8 for counts in c["hist"]["counts"])
        assert configs["lsuv"]["lsuv"] is not None and configs["he"]["lsuv"] is None
    assert set(result["theory_check"]) == {"relu/he", "tanh/glorot"}
    json.dumps(to_jsonable(result))


def test_std_001_collapses_and_std_1_saturates_tanh(result):
    c = claim_named(result, "std 0.01 collapses")
    assert c["holds"] and c["measured"]["ratio"] < 1e-6
    relu = result["configs"]["relu"]["std=0.01"]["act_std_gmean"]
    assert np.all(np.diff(np.log(relu)) < np.log(0.5))            # shrinks at every layer
    assert claim_named(result, "std 1 saturates")["holds"]
    assert result["summary"]["relu/std=1"]["last_over_first"] > 1e3


def test_lsuv_is_flat_and_theory_matches(result):
    for c in result["claims"]:
        if c["claim"].startswith("LSUV"):
            assert c["holds"], c
    assert claim_named(result, "mean-field theory")["holds"]


def test_he_relu_is_flat_where_glorot_and_std_001_are_not():
    """He/ReLU within a factor 2 of the input at the test's depth (6 layers, width 32, 4 nets)."""
    with threadpool_limits(1):
        r = study.run(depth=6, width=32, inits=("std=0.01", "glorot", "he"), activations=("relu",),
                      batch=16, data="shapes", theory_seeds=0, seeds=(0, 1, 2, 3))
    assert claim_named(r, "He keeps every seed's ReLU stack within two orders")["holds"]
    assert max(r["summary"]["relu/he"]["worst_factor_per_seed"]) <= 4      # 6 layers: barely drifts
    r["summary"]["relu/he"]["worst_factor_per_seed"][1] = 150.0              # one net 150x off: not held
    assert not claim_named({**r, "claims": study.claims(r)}, "He keeps every seed's")["holds"]
    assert claim_named(r, "He keeps the per-layer")["holds"]
    assert r["summary"]["relu/he"]["worst_factor_vs_input"] <= 2
    assert r["summary"]["relu/glorot"]["worst_factor_vs_input"] > 4
    # Glorot = He scaled by 2^(-1/2) per layer (same draws): exactly half the variance per layer
    he, glorot = r["configs"]["relu"]["he"]["act_std"], r["configs"]["relu"]["glorot"]["act_std"]
    per_layer = (glorot[:, 1:] / he[:, 1:]) / (glorot[:, :-1] / he[:, :-1])
    np.testing.assert_allclose(per_layer ** 2, 0.5, rtol=1e-9)
    assert claim_named(r, "Glorot shrinks")["holds"]
    assert r["theory_check"] == {}


def test_figures_are_labelled(result):
    for name, make in figures.FIGURES.items():
        fig = make(result)
        axes = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
        assert axes, name
        for ax in axes:
            assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel(), name
        assert any(ax.get_legend() is not None for ax in axes), name
        assert fig._suptitle is not None or all(ax.get_title() for ax in axes)
        close(fig)


def test_bad_options():
    with pytest.raises(InvalidValueError):
        study.run(depth=0)
    with pytest.raises(UnknownNameError, match="neither a study init"):
        study.check_options(inits=("he", "hee_normal"))
    with pytest.raises(UnknownNameError):
        study.check_options(activations=("relu", "swish"))
    with pytest.raises(UnknownNameError):
        study.check_options(data="cifar")
    assert study.resolve("normal(std=0.05)", "relu") == "normal(std=0.05)"
    assert study.resolve("orthogonal", "relu").startswith("orthogonal(gain=1.414")


def test_cli_writes_its_files(tmp_path, capsys):
    out = tmp_path / "prop"
    argv = ["propagate", "--tiny", "--seeds", "1", "--out", str(out), "--depth", "4", "--inits", "std=0.01,he",
            "--activations", "relu", "--theory-seeds", "1"]
    assert main(argv) == 0
    names = {p.name for p in out.iterdir()}
    assert names == {"result.json", *(f"{n}.png" for n in figures.FIGURES)}
    data = json.loads((out / "result.json").read_text())
    assert data["settings"]["depth"] == 4 and list(data["configs"]["relu"]) == ["std=0.01", "he"]
    assert "claims checked" in capsys.readouterr().out
    assert main(argv) == 2                                  # exists: refused without --force
    assert "--force" in capsys.readouterr().err
    assert main(argv + ["--force"]) == 0


@pytest.mark.parametrize("bad", [["--depth", "0"], ["--inits", "he,nope"], ["--data", "cifar"],
                                 ["--activations", ","]])
def test_cli_bad_input_is_a_usage_error(tmp_path, capsys, bad):
    out = tmp_path / "never"
    assert main(["propagate", "--tiny", "--out", str(out), *bad]) == 2
    assert "initlab: error:" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("bad, message", [(["--batch", "1"], "batch"),
                                          (["--data", "digits", "--batch", "700"], "too large"),
                                          (["--lr", "0"], "lr"), (["--theory-seeds", "-1"], "--theory-seeds: expected an integer")])
def test_cli_checks_the_numbers_before_creating_out(tmp_path, capsys, bad, message):
    out = tmp_path / "never"
    assert main(["propagate", "--tiny", "--out", str(out), *bad]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()
