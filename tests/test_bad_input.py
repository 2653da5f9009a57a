"""A catalogue of bad inputs: each gets a specific initlab error that names the argument and
what was expected; the CLI prints it on one line and exits 2 (usage) or 1 (runtime).
Property tests: for any shape arguments, a correct result or a documented initlab error."""
import gzip
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from initlab import checkpoint, convolution, data, filters, init, layers, losses, models, optim, train
from initlab.cli import main
from initlab.errors import (CallOrderError, CheckpointError, DataError, DTypeError, InitlabError,
                            InvalidValueError, ShapeError, UnknownNameError)
from initlab.model import Sequential
from initlab.rng import as_generator

CE = losses.SoftmaxCrossEntropy


def net():
    return models.small_cnn(1, 10, 8, rng=0)


def after_forward(layer, x):
    layer.forward(x)
    return layer


def x8(n=2, channels=1, fill=0.0, dtype=np.float32):
    return np.full((n, channels, 8, 8), fill, dtype=dtype)


def fit(train_data, val=None, **kw):
    model = net()
    kw.setdefault("epochs", 1)
    return train.fit(model, CE(), optim.SGD(model, 0.1), train_data, val, **kw)


def idx_bytes(array, code=0x08):
    """An IDX file: magic 00 00 <type> <ndim>, big-endian u32 dims, then the items."""
    dtype = {0x08: ">u1", 0x0C: ">i4"}[code]
    head = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return head + np.asarray(array, dtype=dtype).tobytes()


def write(path, content):
    path.write_bytes(content)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Bad files of every kind, made once."""
    root = tmp_path_factory.mktemp("bad")
    images = np.arange(2 * 3 * 3).reshape(2, 3, 3) % 255
    good = idx_bytes(images)
    model = net()
    ckpt = checkpoint.save(root / "good.safetensors", model, optim.SGD(model, 0.1, momentum=0.9), step=0)
    raw = bytearray(ckpt.read_bytes())
    (size,) = struct.unpack("<Q", raw[:8])
    flipped = bytearray(raw)
    flipped[8 + size + 5] ^= 0xFF
    out = {
        "good_ckpt": ckpt,
        "wrong_magic": write(root / "magic.idx", b"\x08\x03\x00\x00" + good[4:]),
        "bad_type": write(root / "type.idx", b"\x00\x00\x07\x03" + good[4:]),
        "truncated_idx": write(root / "trunc.idx", good[:-4]),
        "short_idx": write(root / "short.idx", b"\x00\x00"),
        "header_idx": write(root / "header.idx", b"\x00\x00\x08\x03\x00\x00\x00\x02"),
        "long_idx": write(root / "long.idx", good + b"\x00\x00"),
        "bad_gzip": write(root / "gz.idx.gz", gzip.compress(good)[:-12]),
        "truncated_ckpt": write(root / "trunc.safetensors", bytes(raw[: len(raw) // 2])),
        "corrupt_ckpt": write(root / "flip.safetensors", bytes(flipped)),
        "text_ckpt": write(root / "text.safetensors", b"these are not the tensors you are looking for"),
        "other_ckpt": checkpoint.save(root / "lenet.safetensors", models.lenet5(1, 10, 16, rng=0)),
        "folder": root,
    }
    return out


# ------------------------------------------------------------------------------ the library

def library_cases():
    """(id, call(files), exception type, substrings the message must contain)."""
    return [
        # shapes: rank, channels, spatial size too small for the kernel
        ("conv-rank", lambda f: layers.Conv2D(1, 2, 3).forward(np.zeros((1, 8, 8))), ShapeError, ["Conv2D input", "4-D NCHW", "(1, 8, 8)"]),
        ("model-channels", lambda f: net().forward(x8(channels=3)), ShapeError, ["layer 0 (Conv2D)", "1 input channel", "(2, 3, 8, 8)"]),
        ("conv-kernel-too-big", lambda f: layers.Conv2D(1, 2, 5).forward(np.zeros((1, 1, 3, 3))), ShapeError, ["kernel 5x5", "larger than the padded input 3x3"]),
        ("pool-too-big", lambda f: layers.MaxPool2D(3).forward(np.zeros((1, 1, 2, 2))), ShapeError, ["MaxPool2D", "kernel 3x3"]),
        ("pool-padding", lambda f: layers.AvgPool2D(2, padding=2).forward(x8()), ShapeError, ["padding (2, 2)", "half the kernel"]),
        ("dense-features", lambda f: layers.Dense(5, 2).forward(np.zeros((2, 4))), ShapeError, ["Dense", "5 input features", "(2, 4)"]),
        ("dense-needs-flatten", lambda f: layers.Dense(5, 2).forward(x8()), ShapeError, ["2-D input", "Flatten"]),
        ("lenet5-image-too-small", lambda f: models.lenet5(1, 10, 8), ShapeError, ["image_size 8", "12x12"]),
        ("conv2d-weight-rank", lambda f: convolution.conv2d(x8(), np.zeros((2, 1, 3))), ShapeError, ["weight", "(out, in, kh, kw)", "(2, 1, 3)"]),
        ("logits-rank", lambda f: CE().forward(np.zeros(3), [0]), ShapeError, ["logits", "(N, classes)", "(3,)"]),
        ("mse-shapes", lambda f: losses.MSE().forward(np.zeros((2, 3)), np.zeros((3, 2))), ShapeError, ["(2, 3)", "(3, 2)"]),
        # dtypes (integer images are converted to float32: not an error, see validate.py)
        ("complex", lambda f: net().forward(x8(dtype=np.complex64)), DTypeError, ["layer 0 (Conv2D) input", "float32/float64", "complex64"]),
        ("object", lambda f: net().forward(x8().astype(object)), DTypeError, ["float32/float64", "object"]),
        ("bool", lambda f: net().forward(x8(dtype=bool)), DTypeError, ["float32/float64", "bool"]),
        ("strings", lambda f: net().forward(np.full((2, 1, 8, 8), "a")), DTypeError, ["float32/float64", "<U1"]),
        ("ragged", lambda f: net().forward([[1, 2], [3]]), DTypeError, ["numeric array", "list"]),
        ("fractional-labels", lambda f: CE().forward(np.zeros((2, 3)), [0.5, 1]), DTypeError, ["target", "integer class labels", "float64"]),
        ("layer-dtype", lambda f: layers.Conv2D(1, 2, 3, dtype=np.int32), InvalidValueError, ["Conv2D", "float32 or float64", "int32"]),
        # NaN / Inf in the data
        ("nan-train", lambda f: fit((x8(fill=np.nan), [0, 1])), DataError, ["train x", "128 non-finite", "NaN or Inf"]),
        ("inf-val", lambda f: fit((x8(), [0, 1]), (x8(fill=np.inf), [0, 1])), DataError, ["val x", "non-finite"]),
        ("nan-evaluate", lambda f: train.evaluate(net(), CE(), x8(fill=np.nan), [0, 1]), DataError, ["evaluate x", "non-finite"]),
        # labels out of range or of the wrong length
        ("label-too-big", lambda f: fit((x8(4), [0, 1, 2, 10])), DataError, ["train y", "[0, 10)", "to 10"]),
        ("label-negative", lambda f: train.evaluate(net(), CE(), x8(2), [0, -1]), DataError, ["evaluate y", "[0, 10)", "-1"]),
        ("labels-too-few", lambda f: fit((x8(4), [0, 1, 2])), ShapeError, ["train y", "(4,)", "(3,)"]),
        ("loss-labels-length", lambda f: CE().forward(np.zeros((2, 3)), [0, 1, 2]), ShapeError, ["target", "(2,)", "(3,)"]),
        ("empty-train", lambda f: fit((np.zeros((0, 1, 8, 8)), [])), DataError, ["train x", "at least one example"]),
        ("not-a-pair", lambda f: fit(x8()), InvalidValueError, ["train", "(x, y) pair", "ndarray"]),
        # unknown names, with a suggestion
        ("unknown-init", lambda f: layers.Conv2D(1, 2, 3, weight_init="xavier_unifrm"), UnknownNameError, ["initializer 'xavier_unifrm'", "did you mean 'xavier_uniform'"]),
        ("unknown-activation", lambda f: layers.activation_layer("rleu"), UnknownNameError, ["activation 'rleu'", "did you mean 'relu'"]),
        ("unknown-model", lambda f: models.build("lenet", in_channels=1, num_classes=10, image_size=8), UnknownNameError, ["model 'lenet'", "did you mean 'lenet5'"]),
        ("unknown-dataset", lambda f: data.load("digit"), UnknownNameError, ["dataset 'digit'", "did you mean 'digits'"]),
        ("unknown-optimizer", lambda f: optim.build_optimizer(net(), {"name": "adm", "lr": 0.1}), UnknownNameError, ["optimizer 'adm'", "did you mean 'adam'"]),
        ("optimizer-name-a-list", lambda f: optim.build_optimizer(net(), {"name": ["sgd"]}), UnknownNameError, ["optimizer ['sgd']", "valid: adam, adamw, sgd"]),
        ("layer-type-a-dict", lambda f: layers.layer_from_config({"type": {"a": 1}}), UnknownNameError, ["layer type {'a': 1}", "valid: AvgPool2D"]),
        ("activation-a-list", lambda f: layers.activation_layer(["relu"]), UnknownNameError, ["activation ['relu']", "valid: elu"]),
        ("filter-a-list", lambda f: filters.bank([["x"]]), UnknownNameError, ["filter ['x']", "valid:"]),
        ("unknown-shape-class", lambda f: data.shapes(10, classes=("x", "circle")), UnknownNameError, ["shape class 'circle'", "valid: antidiag"]),
        ("unknown-init-parameter", lambda f: init.get("normal(foo=1)"), UnknownNameError, ["parameter of normal 'foo'", "valid: mean, std"]),
        # malformed init specs
        ("init-unclosed", lambda f: init.get("normal(std="), InvalidValueError, ["'normal(std='", "malformed", "normal(std=0.01)"]),
        ("init-negative-std", lambda f: init.initialize("normal(std=-1)", (2, 2), 0), InvalidValueError, ["std", "[0, inf)", "-1"]),
        ("init-std-not-a-number", lambda f: init.get("normal(std='a')"), InvalidValueError, ["std", "finite real number"]),
        ("init-groups-0", lambda f: init.get("dirac(groups=0)"), InvalidValueError, ["dirac groups", "integer >= 1", "got 0"]),
        ("init-transposed-int", lambda f: init.get("he_normal(transposed=1)"), InvalidValueError, ["he_normal transposed", "True or False", "got 1"]),
        # invalid numbers
        ("negative-lr", lambda f: optim.SGD(net(), -1), InvalidValueError, ["SGD lr", "(0, inf)", "-1"]),
        ("adam-beta-1", lambda f: optim.Adam(net(), 1e-3, betas=(1.0, 0.9)), InvalidValueError, ["Adam betas", "[0, 1)"]),
        ("dropout-p-above-1", lambda f: layers.Dropout(1.5), InvalidValueError, ["Dropout p", "[0, 1]", "got 1.5"]),
        ("dropout-p-negative", lambda f: layers.Dropout(-0.1), InvalidValueError, ["Dropout p", "[0, 1]", "-0.1"]),
        ("batch-size-0", lambda f: fit((x8(), [0, 1]), batch_size=0), InvalidValueError, ["batch_size", ">= 1", "got 0"]),
        ("epochs-0", lambda f: fit((x8(), [0, 1]), epochs=0), InvalidValueError, ["epochs", ">= 1", "got 0"]),
        ("clip-negative", lambda f: fit((x8(), [0, 1]), clip_grad_norm=-1.0), InvalidValueError, ["clip_grad_norm", "(0, inf)"]),
        ("stride-0", lambda f: layers.Conv2D(1, 2, 3, stride=0), InvalidValueError, ["Conv2D stride", ">= 1", "(0, 0)"]),
        ("kernel-not-a-pair", lambda f: layers.Conv2D(1, 2, (3,)), InvalidValueError, ["Conv2D kernel_size", "pair of ints", "(3,)"]),
        ("channels-0", lambda f: layers.Conv2D(0, 2, 3), InvalidValueError, ["Conv2D in_channels", ">= 1", "got 0"]),
        ("depth-0", lambda f: models.plain_cnn(0, 4), InvalidValueError, ["plain_cnn depth", ">= 1"]),
        ("seed-negative", lambda f: as_generator(-1), InvalidValueError, ["rng", "seed must be >= 0", "-1"]),
        ("split-fractions", lambda f: data.split(x8(), [0, 1], val_fraction=0.6, test_fraction=0.5), InvalidValueError, ["val_fraction + test_fraction", "< 1", "1.1"]),
        ("batches-size-0", lambda f: data.batches(x8(), [0, 1], 0), InvalidValueError, ["batch_size", ">= 1"]),
        # missing or unreadable data files
        ("mnist-missing-folder", lambda f: data.mnist(f["folder"] / "nope"), DataError, ["MNIST folder", "does not exist", "initlab never downloads"]),
        ("mnist-missing-files", lambda f: data.mnist(f["folder"]), DataError, ["lacks train-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]),
        ("mnist-no-path", lambda f: data.load("mnist"), InvalidValueError, ["'mnist'", "mnist:PATH"]),
        ("idx-missing", lambda f: data.read_idx(f["folder"] / "absent.idx"), DataError, ["absent.idx", "does not exist"]),
        ("idx-is-a-folder", lambda f: data.read_idx(f["folder"]), DataError, ["cannot be read", "Is a directory"]),
        # malformed IDX files
        ("idx-wrong-magic", lambda f: data.read_idx(f["wrong_magic"]), DataError, ["bad magic number 08030000", "00 00 <type> <ndim>"]),
        ("idx-bad-type-code", lambda f: data.read_idx(f["bad_type"]), DataError, ["bad magic number", "0x08"]),
        ("idx-truncated", lambda f: data.read_idx(f["truncated_idx"]), DataError, ["truncated", "need 18 data bytes", "found 14"]),
        ("idx-too-short", lambda f: data.read_idx(f["short_idx"]), DataError, ["4-byte magic", "2 byte(s)"]),
        ("idx-header-cut", lambda f: data.read_idx(f["header_idx"]), DataError, ["3 dimension(s)", "16-byte header"]),
        ("idx-too-long", lambda f: data.read_idx(f["long_idx"]), DataError, ["longer than its header says"]),
        ("idx-bad-gzip", lambda f: data.read_idx(f["bad_gzip"]), DataError, ["damaged gzip"]),
        # checkpoints
        ("ckpt-truncated", lambda f: checkpoint.load(f["truncated_ckpt"]), CheckpointError, ["trunc.safetensors", "truncated"]),
        ("ckpt-corrupted", lambda f: checkpoint.load(f["corrupt_ckpt"]), CheckpointError, ["corrupted", "tensor '0.bias'", "CRC-32"]),
        ("ckpt-not-safetensors", lambda f: checkpoint.load(f["text_ckpt"]), CheckpointError, ["not a safetensors file"]),
        ("ckpt-other-architecture", lambda f: checkpoint.load_weights(net(), f["other_ckpt"]), CheckpointError, ["lacks tensor(s) '2.weight'", "another architecture"]),
        ("ckpt-missing", lambda f: checkpoint.load_weights(net(), f["folder"] / "none.safetensors"), CheckpointError, ["none.safetensors", "does not exist"]),
        ("ckpt-unexpected-tensor", lambda f: checkpoint.load_weights(Sequential(net().layers[:3]), f["good_ckpt"]),
         CheckpointError, ["unexpected tensor(s) '6.bias', '6.weight'", "strict=False"]),
        ("ckpt-not-a-model", lambda f: checkpoint.save(f["folder"] / "x.safetensors", "model"), InvalidValueError, ["checkpoint.save model", "Sequential", "str"]),
        ("ckpt-keep-0", lambda f: checkpoint.CheckpointDir(f["folder"], keep=0), InvalidValueError, ["keep", ">= 1"]),
        ("history-unknown-field", lambda f: train.History.from_dict({"epochs": []}), InvalidValueError, ["History.from_dict", "'epochs'", "valid"]),
        ("state-dict-shape", lambda f: net().load_state_dict({**net().state_dict(), "8.bias": np.zeros(3, np.float32)}), CheckpointError, ["'8.bias'", "expected shape (10,)", "found (3,)"]),
        ("state-dict-strings", lambda f: net().load_state_dict({**net().state_dict(), "8.bias": np.full(10, "a")}), CheckpointError, ["'8.bias'", "expected numbers", "<U1"]),
        ("layer-dtype-name", lambda f: layers.Conv2D(1, 2, 3, dtype="foo"), InvalidValueError, ["Conv2D", "float32 or float64", "'foo'"]),
        ("layer-config-unknown-option", lambda f: layers.layer_from_config({"type": "ReLU", "`type": None}), InvalidValueError, ["layer config for ReLU", "'`type'"]),
        # backward out of order or with the wrong gradient shape
        ("loss-backward-first", lambda f: CE().backward(), CallOrderError, ["SoftmaxCrossEntropy", "before forward()"]),
        ("mse-backward-first", lambda f: losses.MSE().backward(), CallOrderError, ["MSE", "before forward()"]),
        ("dense-grad-shape", lambda f: after_forward(layers.Dense(4, 3, rng=0), np.zeros((2, 4))).backward(np.zeros((2, 5))), ShapeError, ["Dense backward", "grad_y of shape (2, 3)", "(2, 5)"]),
        ("relu-grad-broadcast", lambda f: after_forward(layers.ReLU(), x8()).backward(x8(1)), ShapeError, ["ReLU backward", "(2, 1, 8, 8)", "(1, 1, 8, 8)"]),
        ("pool-grad-shape", lambda f: after_forward(layers.MaxPool2D(2), x8()).backward(x8()), ShapeError, ["MaxPool2D backward", "(2, 1, 4, 4)", "(2, 1, 8, 8)"]),
        ("bn-grad-shape", lambda f: after_forward(layers.BatchNorm2D(1), x8()).backward(np.zeros((2, 1, 4, 4))), ShapeError, ["BatchNorm2D backward", "(2, 1, 8, 8)"]),
        ("flatten-grad-shape", lambda f: after_forward(layers.Flatten(), x8()).backward(np.zeros((2, 63))), ShapeError, ["Flatten backward", "(2, 64)", "(2, 63)"]),
        # optimizer configs and states, initializer callables
        ("optimizer-config-not-a-dict", lambda f: optim.build_optimizer(net(), "adam"), InvalidValueError, ["optimizer config", "a dict", "'adam'"]),
        ("optimizer-unknown-parameter", lambda f: optim.build_optimizer(net(), {"name": "adam", "momentum": 0.9}), UnknownNameError, ["parameter of adam 'momentum'", "valid: amsgrad, betas"]),
        ("adam-betas-not-a-pair", lambda f: optim.build_optimizer(net(), {"name": "adam", "betas": 5}), InvalidValueError, ["Adam betas", "pair", "got 5"]),
        ("optimizer-state-entry", lambda f: optim.SGD(net(), 0.1).load_state_dict({"foo": np.zeros(2)}), InvalidValueError, ["SGD.load_state_dict", "'foo'", "'<parameter>.<buffer>'"]),
        ("init-callable-signature", lambda f: init.initialize(lambda shape: np.zeros(shape), (2,)), InvalidValueError, ["initializer <lambda>", "(shape, rng=None, *, dtype=np.float32)"]),
    ]


CASES = library_cases()


@pytest.mark.parametrize("call, kind, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_library_bad_input(files, call, kind, expected):
    with pytest.raises(kind) as info:
        call(files)
    assert isinstance(info.value, InitlabError)
    message = str(info.value)
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"


def test_the_catalogue_is_large_and_distinct():
    ids = [c[0] for c in CASES] + [c.id for c in CLI_CASES]
    assert len(ids) == len(set(ids)) and len(ids) >= 40


def test_integer_images_are_converted_not_refused():
    y = net().forward(np.zeros((2, 1, 8, 8), dtype=np.uint8), training=False)
    assert y.dtype == np.float32 and y.shape == (2, 10)


# ------------------------------------------------------------------------------ the CLI

def _mnist_folder(root, broken):
    """A tiny MNIST folder whose `broken` file is truncated."""
    folder = root / f"mnist-{broken}"
    folder.mkdir(exist_ok=True)
    parts = {"train-images-idx3-ubyte": idx_bytes(np.zeros((4, 8, 8))),
             "train-labels-idx1-ubyte": idx_bytes(np.arange(4)),
             "t10k-images-idx3-ubyte": idx_bytes(np.zeros((2, 8, 8))),
             "t10k-labels-idx1-ubyte": idx_bytes(np.arange(2))}
    for name, content in parts.items():
        (folder / name).write_bytes(content[:-3] if name == broken else content)
    return folder


def _resume_folder(files, which):
    folder = files["folder"] / f"resume-{which}"
    folder.mkdir(exist_ok=True)
    (folder / "step-00000001.safetensors").write_bytes(files[which].read_bytes())
    return folder


CLI_CASES = [
    pytest.param(["--n", "0"], 2, ["--n", ">= 1", "got 0"], id="cli-n-0"),
    pytest.param(["--keep", "0"], 2, ["--keep", ">= 1"], id="cli-keep-0"),
    pytest.param(["--lr", "inf"], 2, ["--lr", "finite"], id="cli-lr-inf"),
    pytest.param(["--lr", "0"], 2, ["--lr", "(0, inf)", "got 0"], id="cli-lr-0"),
    pytest.param(["--momentum", "-0.1"], 2, ["--momentum", "[0, 1]"], id="cli-momentum-negative"),
    pytest.param(["--checkpoint-every", "often", "--checkpoint-dir", "{tmp}"], 2, ["--checkpoint-every", "1e"], id="cli-every-words"),
    pytest.param(["--checkpoint-every", "0", "--checkpoint-dir", "{tmp}"], 2, ["--checkpoint-every", "N >= 1"], id="cli-every-0"),
    pytest.param(["--model", "plain:0x4"], 2, ["--model plain:0x4: depth", ">= 1"], id="cli-plain-depth-0"),
    pytest.param(["--model", "plain:3"], 2, ["model 'plain:3'", "plain:DEPTHxWIDTH"], id="cli-plain-malformed"),
    pytest.param(["--init", "normal(std=-1)"], 2, ["--init", "std", "[0, inf)"], id="cli-init-negative-std"),
    pytest.param(["--init", "normal(foo=1)"], 2, ["--init", "parameter of normal 'foo'"], id="cli-init-unknown-parameter"),
    pytest.param(["--init", "he_normal(("], 2, ["--init", "malformed"], id="cli-init-garbage"),
    pytest.param(["--activation", "swish"], 2, ["activation 'swish'", "valid:"], id="cli-unknown-activation"),
    pytest.param(["--data", "mnist:"], 2, ["--data: ", "mnist:PATH"], id="cli-mnist-no-folder"),
    pytest.param(["--data", "mnist: "], 2, ["--data: ", "mnist:PATH"], id="cli-mnist-blank-folder"),
    pytest.param(["--data", "mnist:{mnist_images}"], 1, ["--data: ", "truncated", "train-images-idx3-ubyte"], id="cli-mnist-truncated-idx"),
    pytest.param(["--data", "mnist:{tmp}/absent"], 1, ["does not exist", "initlab never downloads"], id="cli-mnist-missing"),
    pytest.param(["--resume", "{tmp}/absent"], 1, ["does not exist"], id="cli-resume-missing"),
    pytest.param(["--resume", "{resume_truncated}"], 1, ["truncated"], id="cli-resume-truncated"),
    pytest.param(["--resume", "{resume_corrupt}"], 1, ["CRC-32"], id="cli-resume-corrupted"),
    pytest.param(["--resume", "{resume_text}"], 1, ["not a safetensors file"], id="cli-resume-not-safetensors"),
    pytest.param(["--resume", "{resume_other}"], 1, ["not written by 'initlab train'"], id="cli-resume-not-a-run"),
    pytest.param(["--resume", "{resume_other}/step-00000001.safetensors"], 2, ["--resume", "is a file", "takes the checkpoint folder"], id="cli-resume-a-file"),
    pytest.param(["--save", "{tmp}"], 2, ["--save", "is a folder"], id="cli-save-a-folder"),
    pytest.param(["--data", "shapes", "--n", "5"], 2, ["--n 5", "validation and test splits empty"], id="cli-n-empty-splits"),
    pytest.param(["--save", ""], 2, ["--save", "empty string"], id="cli-save-empty"),
    pytest.param(["--resume", ""], 2, ["--resume", "empty string"], id="cli-resume-empty"),
    pytest.param(["--checkpoint-dir", ""], 2, ["--checkpoint-dir", "empty string"], id="cli-checkpoint-dir-empty"),
    pytest.param(["--save", "{tmp}/good.safetensors"], 2, ["--save", "already exists", "--force"], id="cli-save-exists"),
    pytest.param(["--data", "shapes", "--n", "999999999999"], 2, ["--n: expected at most 100,000"], id="cli-n-huge"),
    pytest.param(["--model", "plain:99999999999x8"], 2, ["--model plain:99999999999x8: depth", "at most 1,000"], id="cli-plain-depth-huge"),
    pytest.param(["--model", "plain:2x99999999999"], 2, ["width", "at most 1,024"], id="cli-plain-width-huge"),
    pytest.param(["--init", "dirac"], 2, ["--init dirac: cannot initialize --model small_cnn"], id="cli-init-cannot-apply"),
    pytest.param(["--model", "lenet"], 2, ["--model: unknown model 'lenet'", "did you mean 'lenet5'"], id="cli-model-unknown"),
    pytest.param(["--optimizer", "adm"], 2, ["--optimizer: unknown optimizer 'adm'"], id="cli-optimizer-unknown"),
    pytest.param(["--lr", "-1e-3"], 2, ["--lr", "(0, inf)", "-0.001"], id="cli-lr-negative-exponent"),
    pytest.param(["--threads", "0"], 2, ["--threads: expected an integer from 1 to 256, got 0"], id="cli-threads-after-command"),
]


@pytest.mark.parametrize("argv, status, expected", CLI_CASES)
def test_cli_bad_input(files, capsys, argv, status, expected):
    fill = {
        "tmp": files["folder"],
        "mnist_images": _mnist_folder(files["folder"], "train-images-idx3-ubyte"),
        "resume_truncated": _resume_folder(files, "truncated_ckpt"),
        "resume_corrupt": _resume_folder(files, "corrupt_ckpt"),
        "resume_text": _resume_folder(files, "text_ckpt"),
        "resume_other": _resume_folder(files, "other_ckpt"),
    }
    argv = [a.format(**fill) for a in argv]
    code = main(["train", "--epochs", "1", "--n", "50", *argv])
    err = capsys.readouterr().err
    assert code == status, err
    assert err.startswith("initlab: error: ") and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
    for part in expected:
        assert part in err, f"{part!r} not in {err!r}"


# ------------------------------------------------------------------------------ properties

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
small = st.integers(0, 4)


@PROPERTY
@given(n=st.integers(1, 2), c=st.integers(1, 3), h=st.integers(1, 7), w=st.integers(1, 7),
       in_c=st.integers(1, 3), out_c=st.integers(1, 3), kh=st.integers(1, 5), kw=st.integers(1, 5),
       stride=st.tuples(st.integers(1, 3), st.integers(1, 3)), pad=st.tuples(small, small))
def test_conv2d_gives_the_formula_shape_or_a_shape_error(n, c, h, w, in_c, out_c, kh, kw, stride, pad):
    layer = layers.Conv2D(in_c, out_c, (kh, kw), stride=stride, padding=pad, rng=0)
    x = np.ones((n, c, h, w), np.float32)
    try:
        y = layer.forward(x)
    except ShapeError:
        assert c != in_c or kh > h + 2 * pad[0] or kw > w + 2 * pad[1]
        return
    assert c == in_c
    assert y.shape == (n, out_c, (h + 2 * pad[0] - kh) // stride[0] + 1, (w + 2 * pad[1] - kw) // stride[1] + 1)
    assert layer.backward(np.ones_like(y)).shape == x.shape


@PROPERTY
@given(kind=st.sampled_from([layers.MaxPool2D, layers.AvgPool2D]), h=st.integers(1, 7),
       w=st.integers(1, 7), k=st.tuples(st.integers(1, 4), st.integers(1, 4)),
       stride=st.one_of(st.none(), st.integers(1, 3)), pad=st.integers(0, 2))
def test_pooling_gives_a_result_or_a_documented_error(kind, h, w, k, stride, pad):
    pool = kind(k, stride=stride, padding=pad)
    x = np.arange(h * w, dtype=np.float32).reshape(1, 1, h, w)
    try:
        y = pool.forward(x)
    except ShapeError:
        assert pad > min(k) // 2 or k[0] > h + 2 * pad or k[1] > w + 2 * pad
        return
    s = k if stride is None else (stride, stride)
    assert y.shape == (1, 1, (h + 2 * pad - k[0]) // s[0] + 1, (w + 2 * pad - k[1]) // s[1] + 1)
    assert pool.backward(np.ones_like(y)).shape == x.shape


@PROPERTY
@given(name=st.sampled_from(["lenet5", "small_cnn", "plain:2x3"]), h=st.integers(-1, 20),
       w=st.integers(1, 20), channels=st.integers(1, 3), classes=st.integers(1, 4))
def test_model_builders_build_a_working_model_or_refuse_the_size(name, h, w, channels, classes):
    try:
        model = models.build(name, in_channels=channels, num_classes=classes, image_size=(h, w), rng=0)
    except (ShapeError, InvalidValueError) as exc:
        assert "image_size" in str(exc)
        return
    assume(h >= 1)
    y = model.forward(np.zeros((2, channels, h, w), np.float32), training=False)
    assert y.shape == (2, classes)


@PROPERTY
@given(name=st.sampled_from(init.names()), shape=st.lists(st.integers(0, 4), min_size=0, max_size=4))
def test_initializers_return_the_shape_or_a_documented_error(name, shape):
    try:
        array = init.initialize(name, tuple(shape), 0)
    except InitlabError:
        return
    assert array.shape == tuple(shape) and array.dtype == np.float32


@pytest.mark.parametrize("name", ("dirac", "delta_orthogonal"))
def test_dirac_with_an_empty_kernel_axis(name):
    with pytest.raises(ShapeError, match="centre tap"):
        init.initialize(name, (2, 2, 0, 3), 0)


@PROPERTY
@given(n=st.integers(0, 30), batch_size=st.integers(-1, 40), drop_last=st.booleans())
def test_batches_cover_every_example_once_or_refuse_the_size(n, batch_size, drop_last):
    x, y = np.arange(n, dtype=np.float32).reshape(n, 1, 1, 1), np.arange(n) % 3
    try:
        parts = list(data.batches(x, y, batch_size, rng=0, drop_last=drop_last))
    except InvalidValueError as exc:
        assert batch_size < 1 and "batch_size" in str(exc)
        return
    seen = np.concatenate([xb.ravel() for xb, _ in parts]) if parts else np.empty(0)
    expected = n - n % batch_size if drop_last else n
    assert len(seen) == expected and len(set(seen.tolist())) == expected
    assert all(len(xb) == batch_size for xb, _ in parts[:-1] if parts)
