"""One vocabulary of initializers: aliases, the data-dependent ones, nearest-name errors that
name the option, `initlab inits`, each scheme's target std against its draws, and the one-line
note for a start that cannot learn."""
import json
import math

import numpy as np
import pytest

from initlab import init, initializers, models
from initlab.cli import main
from initlab.errors import ShapeError, UnknownNameError
from initlab.layers import Conv2D, Dense


def run(capsys, *argv):
    try:
        status = main(list(argv))
    except SystemExit as stop:
        status = stop.code
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("alias, canonical", [("he", "he_normal"), ("kaiming", "he_normal"),
                                              ("glorot", "glorot_normal"), ("xavier", "glorot_normal"),
                                              ("lecun", "lecun_normal"), ("kaiming_uniform", "he_uniform")])
def test_short_aliases_resolve_everywhere(alias, canonical):
    assert init.describe(alias) == canonical
    layer = Conv2D(2, 4, 3, weight_init=alias, rng=0)
    assert layer.init_names["weight"] == canonical
    np.testing.assert_array_equal(layer.weight, Conv2D(2, 4, 3, weight_init=canonical, rng=0).weight)
    assert initializers.check(alias, "--init") == alias


def test_every_name_is_in_the_catalog_and_checks():
    rows = {row["name"]: row for row in initializers.catalog()}
    assert set(rows) == set(init.names()) | {"lsuv", "patch_kmeans", "patch_pca"}
    assert {n for n, r in rows.items() if r["data_dependent"]} == {"lsuv", "patch_kmeans", "patch_pca"}
    assert "kaiming" in rows["he_normal"]["aliases"] and "xavier" in rows["glorot_normal"]["aliases"]
    assert all(row["formula"] and row["reference"] for row in rows.values())
    for name in initializers.names():
        assert initializers.check(name, "--init") == name


def test_unknown_names_the_option_and_the_nearest_names():
    with pytest.raises(UnknownNameError) as info:
        initializers.check("glorrot", "--init")
    message = str(info.value)
    assert message.startswith("--init: unknown initializer 'glorrot'")
    assert "'glorot'" in message and "initlab inits" in message
    with pytest.raises(UnknownNameError, match=r"^--inits: unknown initializer 'lsvu'; did you mean 'lsuv'"):
        initializers.check("lsvu", "--inits")
    with pytest.raises(UnknownNameError, match=r"^--init: unknown mode"):
        initializers.check("he_normal(mode=fan_oot)", "--init")


def test_a_layer_cannot_draw_a_data_dependent_init_and_says_how():
    with pytest.raises(UnknownNameError, match="data-dependent.*initializers.apply"):
        Conv2D(1, 4, 3, weight_init="lsuv")


@pytest.mark.parametrize("spec", ["he_normal", "he_uniform", "he_normal(mode=fan_out)", "glorot_normal",
                                  "glorot_uniform(gain=2)", "lecun_normal", "lecun_uniform", "pytorch_conv_default",
                                  "variance_scaling(scale=3, mode=fan_avg, distribution=uniform)",
                                  "variance_scaling(scale=0.5)", "normal(std=0.05)", "uniform(low=-1, high=3)",
                                  "truncated_normal(std=1, a=-1, b=2)", "orthogonal(gain=1.5)",
                                  "delta_orthogonal", "sparse(sparsity=0.5, std=0.2)", "he_normal*0.1",
                                  "he_uniform(nonlinearity=tanh)", "dirac", "zeros", "constant(value=2)"])
def test_target_std_is_the_std_of_the_draws(spec):
    shape = (96, 64, 3, 3)
    draws = init.initialize(spec, shape, 0, dtype=np.float64)
    target = init.target_std(spec, shape)
    assert target is not None
    assert np.std(draws) == pytest.approx(target, rel=0.02, abs=1e-12)


def test_target_std_formulas_and_unknowns():
    assert init.target_std("he_normal", (16, 1, 3, 3)) == pytest.approx(math.sqrt(2 / 9))
    assert init.target_std("glorot", (10, 64)) == pytest.approx(math.sqrt(2 / 74))
    assert init.target_std("lsuv(orthogonal)", (4, 4)) is None
    assert init.target_std("patch_kmeans", (4, 1, 3, 3)) is None


@pytest.mark.parametrize("spec", ["zeros", "ones", "constant(value=0.3)", "normal(std=0)", "zeros*3"])
def test_an_equal_start_is_named_in_one_line(spec):
    note = initializers.cannot_learn(spec, "--init")
    assert note.startswith("--init ") and "initlab symmetry" in note and "\n" not in note


@pytest.mark.parametrize("spec", ["he_normal", "normal(std=0.01)", "lsuv", "dirac", "orthogonal"])
def test_a_random_or_structured_start_has_no_note(spec):
    assert initializers.cannot_learn(spec) is None


def test_apply_lsuv_gives_unit_variance_outputs():
    x = np.random.default_rng(0).standard_normal((300, 1, 8, 8)).astype(np.float32)
    model = models.small_cnn(weight_init=initializers.layer_spec("lsuv"), rng=0)
    initializers.apply(model, "lsuv", x, rng=0)
    h = x[:initializers.LSUV_BATCH]
    for layer in model:
        h = layer.forward(h, training=False)
        if isinstance(layer, (Conv2D, Dense)):
            assert layer.init_names["weight"].startswith("lsuv")
    # the same batch apply drew: the first layer's output variance is 1 within LSUV's tol
    batch = x[np.sort(np.random.default_rng(0).choice(300, size=256, replace=False))]
    assert np.var(model[0].forward(batch, training=False)) == pytest.approx(1.0, abs=0.1)


def test_apply_patch_inits_set_the_first_conv_only():
    x = np.random.default_rng(1).random((200, 1, 8, 8)).astype(np.float32)
    model = models.plain_cnn(2, 8, rng=0)
    before = model[2].weight.copy()
    initializers.apply(model, "patch_pca", x, rng=0)
    assert model[0].init_names["weight"] == "patch_pca"
    np.testing.assert_array_equal(model[2].weight, before)
    with pytest.raises(ShapeError, match="patch_pca gives at most C\\*kh\\*kw = 9.*patch_kmeans"):
        initializers.apply(models.small_cnn(rng=0), "patch_pca", x, rng=0)
    assert initializers.apply(model, "he_normal", x) is model


def test_cli_inits_lists_the_vocabulary(capsys):
    status, out, _ = run(capsys, "inits")
    assert status == 0
    for word in ("he_normal", "kaiming", "lsuv", "patch_kmeans", "patch_pca", "He et al.", "fan_avg"):
        assert word in out
    status, out, _ = run(capsys, "inits", "--json")
    rows = json.loads(out)
    assert {"name", "aliases", "formula", "fan", "gain", "reference", "data_dependent"} <= set(rows[0])


TINY = ["train", "--n", "300", "--epochs", "1", "--batch-size", "32"]


@pytest.mark.parametrize("name", ["lsuv", "glorot", "kaiming", "patch_kmeans"])
def test_train_takes_every_kind_of_name(capsys, name):
    status, out, err = run(capsys, *TINY, "--init", name, "--quiet")
    assert status == 0, err
    assert out.startswith("test accuracy: ")


def test_train_errors_name_init(capsys):
    status, _, err = run(capsys, *TINY, "--init", "glorrot")
    assert status == 2 and err.count("\n") == 1
    assert "--init: unknown initializer 'glorrot'; did you mean 'glorot'" in err
    status, _, err = run(capsys, *TINY, "--init", "patch_pca")
    assert status == 2 and err.count("\n") == 1 and "--init patch_pca: " in err and "patch_kmeans" in err


def test_train_from_zeros_says_why_in_one_line(capsys):
    status, out, err = run(capsys, *TINY, "--init", "zeros", "--quiet")
    assert status == 0
    notes = [line for line in err.splitlines() if "note:" in line]
    assert len(notes) == 1 and "--init zeros" in notes[0] and "initlab symmetry" in notes[0]
    status, out, err = run(capsys, *TINY, "--quiet")
    assert "note:" not in err


def test_the_studies_take_the_same_vocabulary(capsys, tmp_path):
    status, _, err = run(capsys, "depth", "--tiny", "--inits", "kaimin", "--out", str(tmp_path / "a"))
    assert status == 2 and err.count("\n") == 1 and "--inits: unknown init 'kaimin'" in err and "'kaiming'" in err
    status, _, err = run(capsys, "depth", "--tiny", "--inits", "he,kaiming", "--out", str(tmp_path / "b"))
    assert status == 2 and "names one study init twice" in err
    from initlab.cli import depth as cli_depth
    assert [cli_depth.study_name(n) for n in ("kaiming", "he_normal", "xavier", "orthogonal")] == \
        ["he", "he", "glorot", "orthogonal"]
    status, _, err = run(capsys, "propagate", "--tiny", "--inits", "glorrot", "--out", str(tmp_path / "c"))
    assert status == 2 and err.count("\n") == 1
    assert "--inits: unknown init 'glorrot'; did you mean 'glorot'" in err and "initlab inits" in err
