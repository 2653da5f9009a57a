"""After training: `initlab.load`, `initlab predict` and `initlab inspect` on raw images, the
checkpoint's input record, old checkpoints without it, bad inputs, and Layer.weight/.bias."""
import json
import warnings

import numpy as np
import pytest
from PIL import Image

import initlab
from initlab import checkpoint, data, layers, models, trained
from initlab.cli import main
from initlab.cli import _images


def run(capsys, *argv):
    try:
        status = main(list(argv))
    except SystemExit as stop:
        status = stop.code
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A small_cnn trained by the CLI on 300 digits, saved with --save; raw PNGs of 6 digits."""
    folder = tmp_path_factory.mktemp("trained")
    path = folder / "model.safetensors"
    assert main(["train", "--n", "300", "--epochs", "3", "--save", str(path), "--quiet"]) == 0
    raw, labels = data.digits()
    pngs = []
    for i in range(6):
        png = folder / f"digit{i}.png"
        Image.fromarray(np.round(raw[i, 0] * 255).astype(np.uint8)).save(png)
        pngs.append(png)
    return path, pngs


def test_the_checkpoint_stores_the_input_normalization(saved):
    path, _ = saved
    model = initlab.load(path)
    dataset = data.load("digits", seed=0, n=300)
    assert model.missing == ()
    assert model.mean == pytest.approx(dataset.mean) and model.std == pytest.approx(dataset.std)
    assert model.image_shape == (1, 8, 8)
    assert model.class_names == tuple(str(d) for d in range(10))
    assert model.state["test_accuracy"] > 0.3
    # on the dataset's own (normalized) test images: the same as the network's argmax
    x_test = dataset.test[0]
    expected = np.argmax(model.model.predict(x_test), axis=1)
    np.testing.assert_array_equal(model.predict(x_test, normalized=True), expected)
    proba = model.predict_proba(x_test, normalized=True)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)


def test_predict_on_raw_pngs_matches_the_model_on_the_normalized_array(saved, capsys):
    path, pngs = saved
    status, out, err = run(capsys, "predict", str(path), *map(str, pngs), "--json")
    assert status == 0, err
    got = json.loads(out)
    model = initlab.load(path)
    dataset = data.load("digits", seed=0, n=300)
    pixels = np.stack([np.asarray(Image.open(p), dtype=np.float32)[None] / 255 for p in pngs])
    normalized = (pixels - np.float32(dataset.mean[0])) / np.float32(dataset.std[0])
    expected = np.argmax(model.model.predict(normalized), axis=1)
    assert [row["index"] for row in got] == expected.tolist()
    assert [row["class"] for row in got] == [str(k) for k in expected]
    assert [row["input"] for row in got] == [p.name for p in pngs]
    for row in got:
        assert sum(row["probabilities"].values()) == pytest.approx(1.0)
    # the table says the same
    status, out, _ = run(capsys, "predict", str(path), str(pngs[0]))
    line = next(line for line in out.splitlines() if pngs[0].name in line)
    assert f" {expected[0]} " in line


def test_images_are_converted_and_resized(tmp_path):
    colour = tmp_path / "big.jpg"
    Image.fromarray(np.full((28, 28, 3), 200, np.uint8)).save(colour)
    x, labels = _images.read([colour], channels=1, size=(8, 8))
    assert x.shape == (1, 1, 8, 8) and labels == ["big.jpg"]
    np.testing.assert_allclose(x, 200 / 255, atol=2 / 255)       # grey stays grey after resizing
    stack = tmp_path / "stack.npy"
    np.save(stack, np.arange(3 * 8 * 8, dtype=np.uint8).reshape(3, 8, 8))
    x, labels = _images.read([stack], channels=1)
    assert x.shape == (3, 1, 8, 8) and labels == ["stack.npy[0]", "stack.npy[1]", "stack.npy[2]"]
    assert x.max() == pytest.approx(191 / 255)                    # integers are 8-bit pixels
    x, _ = _images.read([stack], channels=1, invert=True)
    assert x.min() == pytest.approx(1 - 191 / 255)


def test_inspect_writes_filters_stats_and_feature_maps(saved, capsys, tmp_path):
    path, pngs = saved
    out_dir = tmp_path / "inspect"
    status, out, err = run(capsys, "inspect", str(path), "--image", str(pngs[3]), "--out", str(out_dir))
    assert status == 0, err
    names = {p.name for p in out_dir.iterdir()}
    assert names == {"filters_layer0.png", "filters_layer2.png", "feature_maps_layer0.png", "feature_maps_layer2.png"}
    assert "he_normal" in out and "init's std" in out and "total parameters: 38,282" in out
    model = initlab.load(path)
    x = np.asarray(Image.open(pngs[3]), dtype=np.float32)[None, None] / 255
    assert f"{pngs[3].name}: class {model.class_names[model.predict(x)[0]]}," in out


def test_weight_stats_compare_with_the_init_target():
    model = trained.TrainedModel(models.small_cnn(rng=0), {})
    rows = model.weight_stats()
    assert [r["layer"] for r in rows] == ["0 Conv2D", "2 Conv2D", "6 Dense", "8 Dense"]
    dense = rows[2]
    assert dense["target_std"] == pytest.approx(np.sqrt(2 / 512))
    assert dense["ratio"] == pytest.approx(1.0, abs=0.03)     # 32,768 draws: the std is within 1%


def test_feature_maps_are_the_layers_outputs():
    net = models.small_cnn(rng=0)
    model = trained.TrainedModel(net, {})
    x = np.random.default_rng(0).random((1, 8, 8)).astype(np.float32)
    maps = model.feature_maps(x, normalized=True)
    assert [(i, label) for i, label, _ in maps] == [(0, "0 Conv2D + ReLU"), (2, "2 Conv2D + ReLU")]
    first = np.maximum(net[0].forward(x[None], training=False), 0)[0]
    np.testing.assert_allclose(maps[0][2], first, rtol=1e-6)


def test_an_old_checkpoint_loads_and_says_what_is_missing(tmp_path, capsys):
    net = models.small_cnn(rng=0)
    path = checkpoint.save(tmp_path / "old.safetensors", net)
    with pytest.warns(UserWarning, match="lacks the input mean, the input std, the image shape, the class names"):
        model = initlab.load(path)
    assert model.missing == trained.FIELDS
    assert model.class_names == tuple(str(k) for k in range(10))
    x = np.random.default_rng(0).random((2, 1, 8, 8)).astype(np.float32)
    np.testing.assert_array_equal(model.predict(x), np.argmax(net.predict(x), axis=1))
    array = tmp_path / "x.npy"
    np.save(array, x)
    status, out, err = run(capsys, "predict", str(path), str(array))
    assert status == 0 and "x.npy[1]" in out
    assert err.count("\n") == 1 and "note:" in err and "lacks the input mean" in err
    status, out, err = run(capsys, "inspect", str(path), "--out", str(tmp_path / "ins"))
    assert status == 0 and "give --image" in out


def test_a_partial_record_names_only_what_is_missing(tmp_path):
    path = checkpoint.save(tmp_path / "half.safetensors", models.small_cnn(rng=0),
                           input={"mean": [0.5], "std": [0.25]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = initlab.load(path, warn=False)
    assert model.missing == ("image_shape", "class_names")
    assert "lacks the image shape, the class names" in model.missing_note()
    x = np.full((1, 1, 8, 8), 0.75, np.float32)
    np.testing.assert_allclose(model.normalize(x), 1.0)


@pytest.mark.parametrize("make, option, part", [
    (lambda d: d / "nope.png", "INPUTS", "nope.png' does not exist"),
    (lambda d: (d / "text.png").write_text("hello") and d / "text.png", "INPUTS", "is not an image Pillow can read"),
    (lambda d: np.save(d / "rgb.npy", np.zeros((2, 3, 8, 8), np.float32)) or d / "rgb.npy", "INPUTS",
     "holds images of 3 channel(s)"),
    (lambda d: np.save(d / "five.npy", np.zeros((1, 1, 1, 8, 8))) or d / "five.npy", "INPUTS", "expected (H, W)"),
    (lambda d: d, "INPUTS", "is a folder"),
])
def test_bad_inputs_are_one_line_errors_naming_the_option(saved, capsys, tmp_path, make, option, part):
    path, _ = saved
    target = make(tmp_path)
    status, out, err = run(capsys, "predict", str(path), str(target))
    assert status in (1, 2) and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"initlab: error: {option}: ") and part in err, err
    status, out, err = run(capsys, "inspect", str(path), "--image", str(target), "--out", str(tmp_path / "o"))
    assert err.startswith("initlab: error: --image: ") and part in err, err


def test_a_missing_checkpoint_names_checkpoint(capsys, tmp_path):
    status, _, err = run(capsys, "predict", str(tmp_path / "none.safetensors"), "x.png")
    assert status == 1 and err.strip() == f"initlab: error: CHECKPOINT: checkpoint '{tmp_path / 'none.safetensors'}' does not exist"


def test_wrong_shape_in_python_is_named():
    model = trained.TrainedModel(models.small_cnn(rng=0), {"input": {"image_shape": [1, 8, 8]}})
    with pytest.raises(ValueError, match=r"expected raw images of shape \(N, 1, 8, 8\), got shape \(2, 3, 8, 8\)"):
        model.predict(np.zeros((2, 3, 8, 8)))


def test_layers_expose_weight_and_bias_as_views():
    conv = layers.Conv2D(1, 2, 3, rng=0)
    assert conv.weight is conv.params["weight"] and conv.bias is conv.params["bias"]
    conv.weight[...] = 0
    assert not conv.params["weight"].any()
    assert layers.Dense(3, 2, rng=0).weight.shape == (2, 3)
    with pytest.raises(AttributeError):
        layers.ReLU().weight
    with pytest.raises(AttributeError):
        layers.Conv2D(1, 2, 3, bias=False).bias


def test_a_step_checkpoint_of_train_gets_its_record_recomputed(tmp_path, capsys):
    folder = tmp_path / "run"
    assert main(["train", "--n", "300", "--epochs", "1", "--checkpoint-dir", str(folder), "--quiet"]) == 0
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("error")           # nothing missing: no warning
        model = initlab.load(folder / "best.safetensors")
    dataset = data.load("digits", seed=0, n=300)
    assert model.recomputed and model.missing == ()
    assert model.mean == pytest.approx(dataset.mean) and model.image_shape == (1, 8, 8)
    x = np.zeros((1, 1, 8, 8), np.float32)
    status, out, err = run(capsys, "predict", str(folder / "best.safetensors"), str(np.save(tmp_path / "z.npy", x)
                                                                                      or tmp_path / "z.npy"))
    assert status == 0 and "recomputed from its run's data (--data digits, --seed 0)" in err


def test_idx_files_are_read_as_mnist_images(tmp_path):
    pixels = np.arange(2 * 8 * 8, dtype=np.uint8).reshape(2, 8, 8)
    idx = tmp_path / "images-idx3-ubyte"
    idx.write_bytes(bytes([0, 0, 0x08, 3]) + np.array([2, 8, 8], ">u4").tobytes() + pixels.tobytes())
    x, labels = _images.read([idx], channels=1, size=(8, 8))
    assert labels == ["images-idx3-ubyte[0]", "images-idx3-ubyte[1]"]
    np.testing.assert_allclose(x[:, 0], pixels / 255, rtol=1e-6)
    idx.write_bytes(bytes([0, 0, 0x08, 3]) + np.array([2, 8, 8], ">u4").tobytes())
    with pytest.raises(ValueError, match="^INPUTS: IDX file"):
        _images.read([idx], channels=1)
