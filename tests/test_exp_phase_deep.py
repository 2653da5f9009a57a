"""The phase and deep studies (issue 15) at tiny scale, and their claims' negative controls."""
import json
import math

import pytest

from initlab.claims import deep as deep_claims
from initlab.claims import phase as phase_claims
from initlab.cli import main
from initlab.errors import InvalidValueError, UnknownNameError
from initlab.experiments import deep, phase
from initlab.lab.claims import decide
from initlab.plots import close
from initlab.plots import deep as deep_figures
from initlab.plots import phase as phase_figures
from initlab.theory import critical_sigma_w2, depth_scales, padding_gain


@pytest.fixture(scope="module")
def phase_result():
    return phase.run(**phase.TINY)


@pytest.fixture(scope="module")
def deep_result():
    return deep.run(**deep.TINY)


def test_phase_grid_and_theory_lines(phase_result):
    s = phase.TINY
    b = repr(s["sigma_b2s"][0])
    table = phase_result["accuracy"][b]
    assert set(table) == {str(d) for d in s["depths"]}
    assert all(len(row) == len(s["sigma_w2s"]) and all(len(v) == len(s["seeds"]) for v in row)
               for row in table.values())
    gain = padding_gain((8, 8), 3, 1)
    line = phase_result["lines"][b]
    assert line["critical_sigma_w2_padded"] == pytest.approx(critical_sigma_w2("tanh", s["sigma_b2s"][0]) / gain)
    for w, six_xi in zip(s["sigma_w2s"], line["six_xi_c"]):
        assert six_xi == pytest.approx(6 * depth_scales("tanh", w * gain, s["sigma_b2s"][0])["xi_c"])
    json.dumps(phase_result)


def fake_phase(inside_acc, outside_acc, best_w2):
    """Two sigma_w2 columns: the first within 6 xi_c at every depth, the second beyond it."""
    seeds = 8
    w2s = [1.0, best_w2] if best_w2 != 1.0 else [1.0, 4.0]
    rows = [[inside_acc] * seeds, [outside_acc] * seeds]
    return {"seeds": list(range(seeds)), "settings": {"sigma_w2s": w2s},
            "lines": {"0.05": {"six_xi_c": [None, 1.0], "critical_sigma_w2_padded": 1.0}},
            "accuracy": {"0.05": {"5": rows, "20": rows}}}


def phase_verdicts(result):
    return {r["id"]: r["verdict"] for r in decide(phase_claims.CLAIMS, result)}


def test_phase_claims_hold_and_fail():
    assert phase_verdicts(fake_phase(0.9, 0.1, 1.0)) == {"trainable_within_depth_scale": "holds",
                                                         "best_near_critical": "holds"}
    wrong = phase_verdicts(fake_phase(0.1, 0.9, 8.0))        # trains only beyond 6 xi_c, best far off critical
    assert wrong == {"trainable_within_depth_scale": "fails", "best_near_critical": "fails"}


def test_deep_runs_and_jacobians(deep_result):
    for init in deep.INITS:
        for d in deep.TINY["depths"]:
            run = deep_result["runs"][f"{init}@{d}"]
            assert len(run["accuracy"]) == len(run["condition"]) == len(deep.TINY["seeds"])
            assert all(c >= 1 for c in run["condition"]) and run["lr"] in deep.TINY["rates"]
    json.dumps(deep_result)


def fake_deep(acc_delta, acc_other, cond_delta, cond_other):
    n = 8
    def run(init, acc, cond):
        return {"init": init, "depth": 100, "accuracy": [acc] * n, "condition": [cond * (1 + 0.01 * s) for s in range(n)]}
    return {"settings": {"steps": 100}, "runs": {
        "delta_orthogonal@100": run("delta_orthogonal", acc_delta, cond_delta),
        **{f"{i}@100": run(i, acc_other, cond_other) for i in ("gaussian", "orthogonal", "he_relu")}}}


def test_deep_claims_hold_and_fail():
    good = {r["id"]: r["verdict"] for r in decide(deep_claims.CLAIMS, fake_deep(0.95, 0.1, 10, 1e6))}
    assert set(good.values()) == {"holds"} and len(good) == 4
    bad = {r["id"]: r["verdict"] for r in decide(deep_claims.CLAIMS, fake_deep(0.1, 0.95, 1e6, 10))}
    assert set(bad.values()) == {"fails"}


def test_figures_are_labelled(phase_result, deep_result):
    for figures, result in ((phase_figures, phase_result), (deep_figures, deep_result)):
        for name, make in figures.FIGURES.items():
            fig = make(result)
            for ax in fig.axes:
                if ax.get_label() == "<colorbar>":
                    continue
                assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel(), name
            close(fig)


@pytest.mark.parametrize("study, options, error", [
    (phase, {"sigma_w2s": (0.0,)}, InvalidValueError), (phase, {"depths": ()}, InvalidValueError),
    (deep, {"inits": ("lecun",)}, UnknownNameError), (deep, {"rates": (-1,)}, InvalidValueError)])
def test_bad_options(study, options, error):
    with pytest.raises(error):
        study.check_options(**options)


def test_cli(tmp_path, capsys):
    out = tmp_path / "phase"
    assert main(["phase", "--tiny", "--jobs", "1", "--seeds", "1", "--sigma-w2", "1,3", "--depths", "2",
                 "--out", str(out)]) == 0
    assert "median test accuracy" in capsys.readouterr().out and (out / "phase_diagram.png").exists()
    assert main(["phase", "--tiny", "--sigma-w2", "1,x", "--out", str(tmp_path / "no")]) == 2
    assert not (tmp_path / "no").exists()
    out = tmp_path / "deep"
    assert main(["deep", "--tiny", "--jobs", "1", "--seeds", "1", "--depths", "2", "--inits",
                 "delta_orthogonal,he_relu", "--out", str(out)]) == 0
    assert (out / "deep_scaling.png").exists() and math.isfinite(
        json.loads((out / "result.json").read_text())["runs"]["he_relu@2"]["condition"][0])
