"""The pretrain study: a pretraining grid (transfer, denoising autoencoder, patches), then every
start fine-tuned (and frozen) at each label count; its claims hold on a result that shows them
and fail on a wrong one."""
import json

import numpy as np
import pytest

from initlab.claims import pretrain as catalogue
from initlab.cli import main
from initlab.errors import InvalidValueError, UnknownNameError
from initlab.experiments import pretrain as study
from initlab.lab.claims import decide
from initlab.lab.tasks import Task
from initlab.plots import close
from initlab.plots import pretrain as figures


@pytest.fixture(scope="module")
def result():
    return study.run(**study.TINY)


def test_the_grid_pretrains_once_per_seed_and_fine_tunes_every_start(result):
    s = study.TINY
    n_train = result["labels"][-1]
    assert result["labels"] == [30, n_train]
    expected = {f"{start}@{n}" for start in s["starts"] for n in result["labels"]}
    expected |= {f"{start}/frozen@{n}" for start in s["frozen"] for n in result["labels"]}
    assert set(result["runs"]) == expected
    assert result["timing"]["tasks"] == 2 * 3 + len(expected) * 3
    assert all(r["seeds"] == list(s["seeds"]) for r in result["runs"].values())
    assert set(result["pretraining"]) == {"transfer", "autoencoder"}
    assert len(result["pretraining"]["transfer"]["source_accuracy"]) == 3
    json.dumps(result)


def test_frozen_filters_do_not_move_and_fine_tuned_ones_do(result):
    for r in result["runs"].values():
        if r["frozen"]:
            assert r["moved"] == [0.0] * len(r["seeds"])
        else:
            assert min(r["moved"]) > 0


def test_pretrained_filters_are_the_start_of_fine_tuning_at_he_scale(result):
    for start, f in result["filters"].items():
        w = np.asarray(f["pretrained"])
        assert w.shape == (study.TINY["width"], 1, 3, 3)
        if start != "random":
            assert w.std() == pytest.approx(np.sqrt(2 / 9), rel=1e-5)
        assert not np.allclose(w, f["finetuned"])


def test_the_autoencoder_learns_to_denoise():
    config = dict(kind="pretrain", start="autoencoder", width=4, pretrain_steps=60, lr=0.05, momentum=0.9,
                  batch_size=32, noise=0.25, pretrain_lr=3e-3, n_patches=1000)
    losses = study.pretrain_autoencoder(config, np.random.default_rng(0))["losses"]
    assert np.mean(losses[-10:]) < 0.7 * np.mean(losses[:10])


def test_labelled_subsets_are_balanced_and_nested():
    y = np.repeat(np.arange(10), 30)[np.random.default_rng(1).permutation(300)]
    small = study.labelled_subset(y, 50, np.random.default_rng(5))
    large = study.labelled_subset(y, 120, np.random.default_rng(5))
    assert np.bincount(y[small], minlength=10).tolist() == [5] * 10
    assert np.bincount(y[large], minlength=10).tolist() == [12] * 10
    assert set(small) <= set(large)


def test_runs_are_reproducible():
    config = dict(kind="finetune", start="random", frozen=False, labels=20, filters=None, width=4, steps=5,
                  lr=0.05, momentum=0.9, batch_size=32, eval_every=5)
    assert study.run_task(Task("pretrain", config, 3)) == study.run_task(Task("pretrain", config, 3))


def test_steps_to_threshold_reads_the_evaluated_steps():
    assert study.steps_to([0.1, 0.5, 0.8, 0.9], 0.8, 10, 25) == 20
    assert study.steps_to([0.1, 0.5, 0.8, 0.9], 0.85, 10, 25) == 25
    assert study.steps_to([0.1, 0.5], 0.9, 10, 25) is None


N = 8


def fake(**accuracies):
    """A result at labels 50 and 1000; each run's accuracy per seed defaults to 0.8 + noise."""
    jitter = [0.001 * s for s in range(N)]
    runs = {}
    for start in study.STARTS:
        for frozen in (False, True):
            for n in (50, 1000):
                key = study.run_key(start, frozen, n)
                runs[key] = {"accuracy": accuracies.get(key, [0.8 + j for j in jitter])}
    return {"labels": [50, 1000], "runs": runs, "settings": {"starts": list(study.STARTS)}}


def shows_it():
    """Pretrained starts beat random by 0.1 at 50 labels and by 0.01 at 1000, frozen by 0.05."""
    out = {}
    for start in study.PRETRAINED:
        out[f"{start}@50"] = [0.8 + 0.1 + 0.002 * s for s in range(N)]
        out[f"{start}@1000"] = [0.8 + 0.01 + 0.001 * s for s in range(N)]
        out[f"{start}/frozen@50"] = [0.8 + 0.05 + 0.003 * s for s in range(N)]
    return out


def verdicts(result):
    return {r["id"]: r["verdict"] for r in decide(catalogue.CLAIMS, result)}


def test_every_claim_holds_on_a_result_that_shows_it():
    found = verdicts(fake(**shows_it()))
    assert len(found) == 12
    assert set(found.values()) == {"holds"}


@pytest.mark.parametrize("start", study.PRETRAINED)
def test_each_claim_fails_on_a_wrong_input(start):
    right = shows_it()
    # helps_few: random is the one that is better at the fewest labels (the starts swapped)
    swapped = {**right, f"{start}@50": [0.8 - 0.1 + 0.002 * s for s in range(N)]}
    assert verdicts(fake(**swapped))[f"{start}_helps_few"] == "fails"
    # gap_closes: the gain is larger with many labels than with few
    widening = {**right, f"{start}@50": [0.8 + 0.01 + 0.001 * s for s in range(N)],
                f"{start}@1000": [0.8 + 0.1 + 0.002 * s for s in range(N)]}
    assert verdicts(fake(**widening))[f"{start}_gap_closes"] == "fails"
    # frozen_features: frozen pretrained filters worse than frozen random ones
    worse = {**right, f"{start}/frozen@50": [0.8 - 0.05 + 0.003 * s for s in range(N)]}
    assert verdicts(fake(**worse))[f"{start}_frozen_features"] == "fails"


def test_claims_apply_only_to_starts_that_ran():
    result = fake(**shows_it())
    result["runs"] = {k: v for k, v in result["runs"].items() if not k.startswith(("kmeans", "pca"))}
    assert set(verdicts(result)) == {f"{s}_{c}" for s in ("transfer", "autoencoder")
                                     for c in ("helps_few", "gap_closes", "frozen_features")}


def test_prose_and_captions_use_the_run(result):
    for lang in ("en", "ja"):
        text = catalogue.explanation(result, lang)
        assert "30" in text and str(result["settings"]["steps"]) in text
        assert catalogue.explanation({}, lang)
        caps = catalogue.captions(result, lang)
        assert set(caps) == set(figures.FIGURES)


def test_figures_are_labelled(result):
    for name, make in figures.FIGURES.items():
        fig = make(result)
        for ax in fig.axes:
            assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel(), name
        close(fig)


@pytest.mark.parametrize("options, error", [({"starts": ("random", "imagenet")}, UnknownNameError),
                                            ({"starts": ("transfer",), "frozen": ()}, InvalidValueError),
                                            ({"frozen": ("kmeans",), "starts": ("random",)}, UnknownNameError),
                                            ({"labels": (5,)}, InvalidValueError),
                                            ({"labels": (100_000,)}, InvalidValueError),
                                            ({"width": 12}, InvalidValueError),
                                            ({"noise": 1.0}, InvalidValueError)])
def test_bad_options(options, error):
    with pytest.raises(error):
        study.check_options(**options)


def test_cli(tmp_path, capsys):
    out = tmp_path / "pre"
    assert main(["pretrain", "--tiny", "--jobs", "1", "--seeds", "2", "--starts", "random,autoencoder",
                 "--frozen", "autoencoder", "--labels", "20,all", "--steps", "10", "--out", str(out)]) == 0
    data = json.loads((out / "result.json").read_text())
    assert {r["start"] for r in data["runs"].values()} == {"random", "autoencoder"}
    assert (out / "pretrain_filters.png").exists() and (out / "pretrain_labels.png").exists()
    assert "medians over seeds" in capsys.readouterr().out
    assert main(["pretrain", "--tiny", "--labels", "20,lots", "--out", str(tmp_path / "no")]) == 2
    assert main(["pretrain", "--tiny", "--starts", "swirl", "--out", str(tmp_path / "no")]) == 2
    assert main(["pretrain", "--tiny", "--pretrain-steps", "99999999999", "--out", str(tmp_path / "no")]) == 2
    assert not (tmp_path / "no").exists()


def test_the_frozen_control_defaults_to_the_starts_that_ran():
    assert study.check_options(starts=("random", "kmeans"))["frozen"] == ("random",)
    assert study.check_options()["frozen"] == ("random", "transfer", "autoencoder")
