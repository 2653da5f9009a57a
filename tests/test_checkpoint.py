"""initlab.checkpoint: safetensors round trips, atomic writes, validation before loading, torch."""
import json
import os
import re
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import safetensors.numpy

from initlab import checkpoint, data, layers, losses, models, optim, train
from initlab.errors import CheckpointError, InvalidValueError
from initlab.model import Sequential

SRC = Path(__file__).resolve().parents[1] / "src" / "initlab"


def bn_net(seed=0, dtype=np.float32):
    """Conv, BatchNorm (buffers incl. a 0-d int64), Dropout (own rng), Dense."""
    rng = np.random.default_rng(seed)
    return Sequential([layers.Conv2D(1, 3, 3, padding=1, rng=rng, dtype=dtype),
                       layers.BatchNorm2D(3, dtype=dtype), layers.ReLU(dtype=dtype),
                       layers.Dropout(0.2, rng=rng, dtype=dtype), layers.Flatten(dtype=dtype),
                       layers.Dense(3 * 8 * 8, 10, rng=rng, weight_init="glorot_uniform", dtype=dtype)])


def trained(model, opt, steps=3, seed=0):
    x = np.random.default_rng(seed).standard_normal((8, 1, 8, 8)).astype(model.layers[0].dtype)
    y = np.arange(8) % 10
    loss = losses.SoftmaxCrossEntropy()
    for _ in range(steps):
        loss.forward(model.forward(x), y)
        model.backward(loss.backward())
        opt.step()
    return x


def assert_same_state(a: dict, b: dict):
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].dtype == b[key].dtype and a[key].shape == b[key].shape, key
        assert np.array_equal(a[key], b[key]), key


@pytest.fixture
def saved(tmp_path):
    model = bn_net()
    opt = optim.Adam(model, 1e-3, weight_decay=0.01)
    x = trained(model, opt)
    path = checkpoint.save(tmp_path / "run.safetensors", model, opt, epoch=2, step=3,
                           rng={"a": [1, 2]}, note="hello")
    return path, model, opt, x


# ------------------------------------------------------------------------------ round trips

def test_save_load_round_trip_restores_model_optimizer_and_state(saved):
    path, model, opt, x = saved
    loaded, loaded_opt, state = checkpoint.load(path)
    assert state == {"epoch": 2, "step": 3, "rng": {"a": [1, 2]}, "note": "hello"}
    assert loaded.config() == model.config()
    assert_same_state(loaded.state_dict(), model.state_dict())
    assert loaded.state_dict()["1.num_batches_tracked"].shape == ()
    assert [layer.init_names for layer in loaded.layers] == [layer.init_names for layer in model.layers]
    assert np.array_equal(loaded.forward(x, training=False), model.forward(x, training=False))
    assert type(loaded_opt) is optim.Adam and loaded_opt.config() == opt.config()
    assert loaded_opt.steps == opt.steps == 3
    assert_same_state(loaded_opt.state_dict(), opt.state_dict())
    # one more step from the loaded pair equals one more step from the original
    trained(model, opt, steps=1, seed=1)
    trained(loaded, loaded_opt, steps=1, seed=1)
    assert_same_state(loaded.state_dict(), model.state_dict())


def test_the_file_is_plain_safetensors_with_bare_names_and_json_metadata(saved):
    path, model, opt, _ = saved
    raw = path.read_bytes()
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + size])
    meta = header.pop("__metadata__")
    assert set(model.state_dict()) <= set(header)
    assert "optim/0.weight.exp_avg" in header and "optim/5.bias.exp_avg_sq" in header
    assert meta["format"] == "initlab-checkpoint" and meta["format_version"] == str(checkpoint.FORMAT_VERSION) == "3"
    assert meta["metadata_crc32"] == checkpoint.metadata_checksum(meta)
    for key in ("model_config", "optimizer", "state", "init", "checksums"):
        json.loads(meta[key])
    assert json.loads(meta["optimizer"])["config"]["name"] == "adam"
    assert json.loads(meta["init"])["5"] == {"weight": "glorot_uniform", "bias": "zeros"}
    assert "initlab_version" in meta and meta["epoch"] == "2"
    assert set(safetensors.numpy.load(raw)) == set(header)


def test_float64_models_and_sgd_momentum_round_trip(tmp_path):
    model = bn_net(dtype=np.float64)
    opt = optim.SGD(model, 0.1, momentum=0.9, nesterov=True)
    trained(model, opt)
    loaded, loaded_opt, _ = checkpoint.load(checkpoint.save(tmp_path / "f64.safetensors", model, opt))
    assert loaded.layers[0].dtype == np.float64
    assert_same_state(loaded.state_dict(), model.state_dict())
    assert loaded_opt.nesterov and "0.weight.momentum_buffer" in loaded_opt.state_dict()


@pytest.mark.parametrize("first", [np.float32, np.float64])
def test_a_mixed_precision_model_round_trips_layer_by_layer(tmp_path, first):
    # a float32 ReLU after a float64 conv computes in float32, and must again; a bare Flatten()
    # follows its input's dtype, and must again
    model = Sequential([layers.Conv2D(1, 2, 3, rng=0, dtype=first), layers.ReLU(dtype=np.float32),
                        layers.Flatten(), layers.Dense(None, 3, rng=0, dtype=np.float64)])
    x = np.random.default_rng(1).normal(size=(2, 1, 5, 5))
    y = model.forward(x)
    loaded, _, _ = checkpoint.load(checkpoint.save(tmp_path / "mixed.safetensors", model))
    assert [layer.dtype for layer in loaded.layers] == [layer.dtype for layer in model.layers]
    assert np.array_equal(loaded.forward(x), y)
    config = model.config()
    config["layers"][3]["dtype"] = "float16"
    with pytest.raises(CheckpointError, match="layer 3 dtype must be 'float32', 'float64' or None, got 'float16'"):
        Sequential.from_config(config)


def test_load_weights_into_a_model_and_strictness(tmp_path, saved):
    path, model, _, x = saved
    fresh = bn_net(seed=5)
    checkpoint.load_weights(fresh, path)
    assert_same_state(fresh.state_dict(), model.state_dict())
    # a file with an extra tensor: refused when strict, loaded otherwise
    extra = {**model.state_dict(), "9.weight": np.zeros(3, np.float32)}
    plain = tmp_path / "plain.safetensors"
    plain.write_bytes(safetensors.numpy.save(extra))
    with pytest.raises(CheckpointError, match=r"unexpected tensor\(s\) '9.weight'.*strict=False"):
        checkpoint.load_weights(bn_net(seed=5), plain)
    other = bn_net(seed=6)
    checkpoint.load_weights(other, plain, strict=False)
    assert_same_state(other.state_dict(), model.state_dict())
    # a plain safetensors file (no initlab metadata) is weights, not a checkpoint
    with pytest.raises(CheckpointError, match="not an initlab checkpoint.*load_weights"):
        checkpoint.load(plain)


# ------------------------------------------------------------------------------ atomic writes

def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch, saved):
    path, model, opt, _ = saved
    before = path.read_bytes()

    def crash(*args):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated"):
        checkpoint.save(path, bn_net(seed=9), None)
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_writes_are_fsynced_before_the_rename(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append("replace"), real_replace(a, b))[1])
    checkpoint.save(tmp_path / "a.safetensors", bn_net(), None)
    assert events[0] == "fsync" and events[1] == "replace" and events[-1] == "fsync"  # file, rename, folder


def test_save_refuses_state_that_is_not_json(tmp_path):
    with pytest.raises(InvalidValueError, match="state.*JSON"):
        checkpoint.save(tmp_path / "x.safetensors", bn_net(), None, when=object())
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------ bad files

def _bytes(path):
    return bytearray(Path(path).read_bytes())


def test_truncated_file_is_refused_and_the_model_is_unchanged(tmp_path, saved):
    path, model, _, _ = saved
    raw = _bytes(path)
    target = bn_net(seed=7)
    before = target.state_dict()
    for cut in (len(raw) - 10, len(raw) // 2, 100, 5):
        bad = tmp_path / f"cut{cut}.safetensors"
        bad.write_bytes(raw[:cut])
        with pytest.raises(CheckpointError, match="truncated|not a safetensors"):
            checkpoint.load_weights(target, bad)
        with pytest.raises(CheckpointError):
            checkpoint.load(bad)
    assert_same_state(target.state_dict(), before)


def test_a_flipped_byte_in_the_data_fails_its_checksum_naming_the_tensor(tmp_path, saved):
    path, model, _, _ = saved
    raw = _bytes(path)
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + size])
    start = 8 + size + header["5.weight"]["data_offsets"][0]
    raw[start + 3] ^= 0x40
    bad = tmp_path / "flip.safetensors"
    bad.write_bytes(raw)
    with pytest.raises(CheckpointError, match=r"corrupted: tensor '5.weight' fails its CRC-32"):
        checkpoint.load(bad)


def test_bytes_appended_after_the_tensors_are_named(tmp_path, saved):
    path, _, _, _ = saved
    bad = tmp_path / "appended.safetensors"
    bad.write_bytes(bytes(_bytes(path)) + b"junk")
    with pytest.raises(CheckpointError, match=r"corrupted: 4 byte\(s\) follow its last tensor"):
        checkpoint.load(bad)


def test_a_damaged_header_is_refused(tmp_path, saved):
    path, _, _, _ = saved
    raw = _bytes(path)
    raw[8] = ord("#")                        # the JSON header's opening brace
    bad = tmp_path / "hdr.safetensors"
    bad.write_bytes(raw)
    with pytest.raises(CheckpointError, match="header is not valid JSON"):
        checkpoint.load(bad)


def test_not_safetensors_at_all(tmp_path):
    for name, content in (("text.safetensors", b"hello, I am a text file\n" * 4),
                          ("empty.safetensors", b""),
                          ("zip.safetensors", b"PK\x03\x04" + bytes(200))):
        bad = tmp_path / name
        bad.write_bytes(content)
        with pytest.raises(CheckpointError, match="not a safetensors file"):
            checkpoint.load(bad)
    with pytest.raises(CheckpointError, match="does not exist"):
        checkpoint.load(tmp_path / "missing.safetensors")
    with pytest.raises(CheckpointError, match="is a folder"):
        checkpoint.load(tmp_path)


def test_another_architecture_names_the_tensor_and_both_shapes(tmp_path):
    lenet = models.lenet5(1, 10, 28, rng=0)
    path = checkpoint.save(tmp_path / "lenet.safetensors", lenet, None)
    target = models.lenet5(1, 10, 16, rng=0)
    before = target.state_dict()
    with pytest.raises(CheckpointError, match=r"tensor '7.weight' has shape \(120, 400\), the model expects \(120, 64\)"):
        checkpoint.load_weights(target, path)
    assert_same_state(target.state_dict(), before)
    with pytest.raises(CheckpointError, match=r"lacks tensor\(s\) '2.weight', '2.bias', '6.weight'"):
        checkpoint.load_weights(models.small_cnn(1, 10, 8, rng=0), path)
    deeper = models.plain_cnn(3, 4, rng=0)
    with pytest.raises(CheckpointError, match=r"lacks tensor\(s\) '2.weight'"):
        checkpoint.load_weights(deeper, checkpoint.save(tmp_path / "p2.safetensors", models.plain_cnn(1, 4, rng=0)))


def test_a_narrowing_dtype_is_named_and_a_widening_one_loads(tmp_path):
    path = checkpoint.save(tmp_path / "f64.safetensors", bn_net(dtype=np.float64), None)
    with pytest.raises(CheckpointError, match="tensor '0.weight' has dtype float64, the model expects float32"):
        checkpoint.load_weights(bn_net(), path)
    f32 = bn_net()
    wide = checkpoint.load_weights(bn_net(dtype=np.float64), checkpoint.save(tmp_path / "f32.safetensors", f32))
    assert wide.layers[0].params["weight"].dtype == np.float64
    assert np.array_equal(wide.layers[0].params["weight"], f32.layers[0].params["weight"])
    tensors = {k: np.ascontiguousarray(v) for k, v in f32.state_dict().items()}
    tensors["0.weight"] = np.ones(tensors["0.weight"].shape, np.int8)       # casts safely, but no weight
    ints = tmp_path / "ints.safetensors"
    ints.write_bytes(safetensors.numpy.save(tensors))
    with pytest.raises(CheckpointError, match="tensor '0.weight' has dtype int8, the model expects float32"):
        checkpoint.load_weights(bn_net(), ints)


def test_a_tampered_model_config_or_optimizer_is_refused(tmp_path, saved):
    path, model, opt, _ = saved
    tensors, meta = checkpoint.read(path)
    cases = {
        "config": {**meta, "model_config": json.dumps({"layers": [{"type": "Conv3D"}]})},
        "format": {**meta, "format_version": "99"},
        "optim": {**meta, "optimizer": json.dumps({"config": {"name": "adamax", "lr": 1}})},
        "init": {**meta, "model_config": json.dumps({**model.config(), "layers": [
            {**model.config()["layers"][0], "init": "he"}, *model.config()["layers"][1:]]})},
    }
    messages = {"config": "model config cannot be rebuilt.*Conv3D", "format": "format version '99'",
                "optim": "optimizer config cannot be rebuilt.*adamax",
                "init": "layer 0 'init' must map parameter names to initializer names, got he"}
    for case, metadata in cases.items():
        metadata = {k: v for k, v in metadata.items() if k != "checksums"}
        metadata["metadata_crc32"] = checkpoint.metadata_checksum(metadata)   # well-formed, but wrong
        bad = tmp_path / f"{case}.safetensors"
        bad.write_bytes(safetensors.numpy.save(tensors, metadata=metadata))
        with pytest.raises(CheckpointError, match=messages[case]):
            checkpoint.load(bad)


def _with_header(raw: bytearray, edit) -> bytes:
    """The file `raw` with its JSON header changed by edit(header) (data bytes kept) and its
    metadata checksum stored again, as a tool editing the file on purpose would."""
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + size])
    edit(header)
    if isinstance(header.get("__metadata__"), dict):
        header["__metadata__"]["metadata_crc32"] = checkpoint.metadata_checksum(header["__metadata__"])
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + bytes(raw[8 + size:])


@pytest.mark.parametrize("field, value", [
    ("data_offsets", [0, None]), ("data_offsets", [None, None]), ("data_offsets", ["0", 4]),
    ("data_offsets", [8, 4]), ("data_offsets", [-4, 0]), ("data_offsets", [0, 1.5]),
    ("data_offsets", [True, False]), ("dtype", ["F32"]), ("dtype", {"a": 1}), ("shape", [None]),
    ("shape", [-1, 2]),
])
def test_a_malformed_tensor_entry_is_a_checkpoint_error_saying_what_was_expected(tmp_path, saved, field, value):
    path, _, _, _ = saved
    bad = tmp_path / "entry.safetensors"
    bad.write_bytes(_with_header(_bytes(path), lambda h: h["5.weight"].__setitem__(field, value)))
    for load in (checkpoint.read, checkpoint.load, lambda p: checkpoint.load_weights(bn_net(), p)):
        with pytest.raises(CheckpointError, match=r"malformed header entry for tensor '5.weight': "
                                                  r"expected .*data_offsets.*\[begin, end\]"):
            load(bad)


def _middle_tensor(header):
    """The name of a tensor that neither starts nor ends the data."""
    entries = sorted((e["data_offsets"], name) for name, e in header.items() if name != "__metadata__")
    return next(name for (begin, end), name in entries[1:-1] if end - begin >= 8)


def _shift(header, by):
    offsets = header[_middle_tensor(header)]["data_offsets"]
    offsets[0] += by
    offsets[1] += by


@pytest.mark.parametrize("edit, message", [
    (lambda h: _shift(h, -4), r"is corrupted: tensor '[^']+' starts at data byte \d+, expected \d+ "
                              r"\(the tensors follow one another with no gap or overlap\)"),
    (lambda h: _shift(h, 4), r"is corrupted: tensor '[^']+' starts at data byte \d+, expected \d+"),
    (lambda h: h[_middle_tensor(h)]["shape"].append(2), r"is corrupted: tensor '[^']+' is float32\[.*\] "
                                                          r"\(\d+ bytes\), but its data_offsets span \d+ bytes"),
])
def test_tensors_that_do_not_tile_the_data_are_refused_naming_the_tensor(tmp_path, saved, edit, message):
    """The header is parsed once, by initlab; the tensors must follow one another exactly, as
    safetensors requires, before any is read."""
    path, _, _, _ = saved
    bad = tmp_path / "tiling.safetensors"
    bad.write_bytes(_with_header(_bytes(path), edit))
    for load in (checkpoint.read, checkpoint.load, lambda p: checkpoint.load_weights(bn_net(), p)):
        with pytest.raises(CheckpointError, match=message):
            load(bad)


def test_read_gives_every_safetensors_dtype_as_safetensors_does(tmp_path):
    rng = np.random.default_rng(0)
    tensors = {dtype: (rng.standard_normal((2, 3)) * 50).astype(dtype)
               for dtype in ("float16", "float32", "float64", "int8", "uint8", "int16", "uint16", "int32",
                             "uint32", "int64", "uint64", "bool")}
    tensors["empty"], tensors["scalar"] = np.zeros((0, 4), np.float32), np.array(7, np.int64)
    path = tmp_path / "dtypes.safetensors"
    path.write_bytes(safetensors.numpy.save(tensors))
    read, _ = checkpoint.read(path)
    for name, value in tensors.items():
        assert read[name].dtype == value.dtype and read[name].shape == value.shape, name
        assert np.array_equal(read[name], value), name


def test_metadata_values_must_be_strings(tmp_path, saved):
    path, _, _, _ = saved
    bad = tmp_path / "meta.safetensors"
    bad.write_bytes(_with_header(_bytes(path), lambda h: h["__metadata__"].__setitem__("epoch", 3)))
    with pytest.raises(CheckpointError, match=r"the header's metadata is not a JSON object of strings"):
        checkpoint.read(bad)


def test_read_gives_writable_native_arrays_equal_to_safetensors_own_reader(saved):
    path, _, _, _ = saved
    tensors, metadata = checkpoint.read(path)
    reference = safetensors.numpy.load(Path(path).read_bytes())
    assert set(tensors) == set(reference)
    for name, value in tensors.items():
        assert value.dtype == reference[name].dtype and value.shape == reference[name].shape, name
        assert np.array_equal(value, reference[name]) and value.flags.writeable, name
    assert metadata == safetensors.safe_open(str(path), "np").metadata()


@pytest.mark.parametrize("key, value, message", [
    ("optimizer", {"config": "ab"}, "metadata 'optimizer' is malformed: expected .*config"),
    ("optimizer", ["config"], "metadata 'optimizer' is malformed"),
    ("optimizer", {"config": {"name": "adam", "lr": 0.1}, "steps": "x"}, "'optimizer' is malformed.*steps"),
    ("optimizer", {"config": {"name": "adam", "lr": "fast"}}, "optimizer config cannot be rebuilt"),
    ("layer_rngs", [1, 2], "metadata 'layer_rngs' is malformed: expected"),
    ("layer_rngs", "ab", "metadata 'layer_rngs' is malformed"),
    ("state", [1, 2], "metadata 'state' is malformed: expected a JSON object"),
    ("init", {"0": {"weioht": "he_normal"}}, "metadata 'init' is malformed: expected"),
    ("init", {"9": {}}, "metadata 'init' is malformed"),
    ("init", {"0": {"weight": 5}}, "metadata 'init' is malformed"),
    ("init", [1], "metadata 'init' is malformed"),
])
def test_malformed_metadata_is_a_checkpoint_error_saying_what_was_expected(tmp_path, saved, key, value, message):
    path, _, _, _ = saved
    bad = tmp_path / "meta.safetensors"
    bad.write_bytes(_with_header(_bytes(path), lambda h: h["__metadata__"].__setitem__(key, json.dumps(value))))
    with pytest.raises(CheckpointError, match=message):
        checkpoint.load(bad)


def test_a_flipped_bit_anywhere_in_the_header_is_refused(tmp_path, saved):
    """The header is text: without the metadata checksum ~5% of single-bit flips parsed into a
    different valid checkpoint (a layer option, a state key, the optimizer entry's name)."""
    path, _, _, _ = saved
    raw = _bytes(path)
    (size,) = struct.unpack("<Q", raw[:8])
    rng = np.random.default_rng(0)
    for position in range(8, 8 + size, 5):
        bad = bytearray(raw)
        bad[position] ^= 1 << int(rng.integers(8))
        (tmp_path / "flip.safetensors").write_bytes(bad)
        with pytest.raises(CheckpointError):
            checkpoint.load(tmp_path / "flip.safetensors")


def test_the_metadata_checksum_names_the_damage_and_is_required_from_version_3(tmp_path, saved):
    path, model, _, x = saved
    tensors, meta = checkpoint.read(path)

    def write(metadata):
        (tmp_path / "m.safetensors").write_bytes(safetensors.numpy.save(tensors, metadata=metadata))
        return tmp_path / "m.safetensors"

    renamed = {**meta, "state": meta["state"].replace("epoch", "upoch")}
    with pytest.raises(CheckpointError, match="corrupted: its metadata .* fails its CRC-32 check"):
        checkpoint.load(write(renamed))
    unsealed = {k: v for k, v in meta.items() if k != "metadata_crc32"}
    with pytest.raises(CheckpointError, match="format-version-3 checkpoint carries a 'metadata_crc32'"):
        checkpoint.load(write(unsealed))
    with pytest.raises(CheckpointError, match=r"fails its CRC-32 check \(expected [0-9a-f]{8}, found"):
        # load_weights checks it too
        checkpoint.load_weights(bn_net(), write(renamed))
    # a version-2 file (written before the metadata checksum) still loads
    loaded, _, state = checkpoint.load(write({**unsealed, "format_version": "2"}))
    assert state["epoch"] == 2
    assert np.array_equal(loaded.forward(x, training=False), model.forward(x, training=False))


def test_optimizer_tensors_without_the_optimizer_record_are_refused(tmp_path, saved):
    path, _, _, _ = saved
    bad = tmp_path / "no-optim.safetensors"
    bad.write_bytes(_with_header(_bytes(path), lambda h: h["__metadata__"].pop("optimizer")))
    with pytest.raises(CheckpointError, match=r"holds optimizer tensors \(\['optim/0.bias.exp_avg'.*no 'optimizer' metadata"):
        checkpoint.load(bad)


def _with_tensors(tensors: dict, metadata: dict) -> bytes:
    """A well-sealed file of these tensors (checksums and metadata checksum stored again)."""
    metadata = {**metadata, "checksums": json.dumps({k: f"{zlib.crc32(np.ascontiguousarray(v).tobytes()):08x}"
                                                     for k, v in tensors.items()})}
    metadata["metadata_crc32"] = checkpoint.metadata_checksum(metadata)
    return safetensors.numpy.save(tensors, metadata=metadata)


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.__setitem__("optim/0.weight.exp_avg", t["optim/0.weight.exp_avg"].astype(np.float64)),
     r"optimizer tensor 'optim/0.weight.exp_avg' is float64\[.*\], expected float32 like parameter '0.weight'"),
    (lambda t: t.__setitem__("optim/0.weight.exp_avg", t["optim/0.weight.exp_avg"][:1].copy()),
     r"its optimizer tensors do not fit the model \(.*'0.weight.exp_avg' is float32\[1, .*like parameter '0.weight'"),
    (lambda t: t.__setitem__("optim/42.weight.exp_avg", t["optim/0.weight.exp_avg"]),
     r"its optimizer tensors do not fit the model \(.*unexpected entry '42.weight.exp_avg'"),
    (lambda t: t.pop("optim/0.weight.exp_avg_sq"),
     r"its optimizer tensors do not fit the model \(.*parameter '0.weight' has .* but not \['exp_avg_sq'\]"),
    (lambda t: t.__setitem__("optim/steps", np.array(3)), r"optimizer tensor 'optim/steps' is int64\[\], expected no such"),
])
def test_optimizer_tensors_that_do_not_fit_the_model_are_checkpoint_errors(tmp_path, saved, edit, message):
    """The optimizer's own check (each buffer a parameter's, of its shape, all or none) runs
    once, and a file adds its dtype rule; both say which tensor."""
    path, _, _, _ = saved
    tensors, metadata = checkpoint.read(path)
    edit(tensors)
    bad = tmp_path / "optim.safetensors"
    bad.write_bytes(_with_tensors(tensors, metadata))
    with pytest.raises(CheckpointError, match=message):
        checkpoint.load(bad)


def test_every_small_damage_to_the_metadata_is_a_checkpoint_error(tmp_path, saved):
    """Any JSON value in any metadata field: a CheckpointError or a good load, never a bare error."""
    path, _, _, _ = saved
    raw = _bytes(path)
    (size,) = struct.unpack("<Q", raw[:8])
    keys = list(json.loads(raw[8:8 + size])["__metadata__"])
    values = ["null", "1", "-1", "1.5", "true", '"ab"', "[]", "{}", '{"a": 1}', "[[1]]", '{"0": null}',
              '{"0": {"bit_generator": "PCG64"}}', '{"config": {}}', '{"layers": [{}]}', "not json"]
    for key in keys:
        for value in values:
            bad = tmp_path / "fuzz.safetensors"
            bad.write_bytes(_with_header(raw, lambda h: h["__metadata__"].__setitem__(key, value)))
            try:
                checkpoint.load(bad)
            except CheckpointError:
                pass


# ------------------------------------------------------------------------------ run folders

def test_checkpoint_dir_keeps_the_last_k_and_finds_the_latest(tmp_path):
    folder = checkpoint.CheckpointDir(tmp_path / "run", keep=2)
    with pytest.raises(CheckpointError, match="does not exist"):
        folder.latest()
    model = bn_net()
    for step in (5, 10, 15, 20):
        folder.save(step, model, None, step=step)
    folder.save_best(model, None, step=10)
    (tmp_path / "run" / ".step-00000025.safetensors.abc.tmp").write_bytes(b"partial")  # a killed write
    names = sorted(p.name for p in (tmp_path / "run").iterdir())
    assert names == [".step-00000025.safetensors.abc.tmp", "best.safetensors",
                     "step-00000015.safetensors", "step-00000020.safetensors"]
    assert folder.latest().name == "step-00000020.safetensors"
    assert checkpoint.load(folder.latest())[2] == {"step": 20}
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CheckpointError, match="holds no step"):
        checkpoint.CheckpointDir(empty).latest()
    with pytest.raises(InvalidValueError, match="keep"):
        checkpoint.CheckpointDir(empty, keep=0)
    with pytest.raises(CheckpointError, match="is a file, expected the folder"):
        checkpoint.CheckpointDir(folder.latest()).latest()


def test_a_checkpoint_just_written_is_never_pruned_and_clear_empties_the_folder(tmp_path):
    folder = checkpoint.CheckpointDir(tmp_path / "run", keep=1)
    model = bn_net()
    folder.save(9999, model, None, step=9999)            # left by an older run
    (tmp_path / "run" / "notes.txt").write_text("mine")
    assert folder.holds_checkpoints()
    written = folder.save(3, model, None, step=3)
    assert written.exists()
    assert [p.name for _, p in folder.steps()] == ["step-00000003.safetensors"]
    folder.save_best(model, None)
    assert [p.name for p in folder.clear()] == ["step-00000003.safetensors", "best.safetensors"]
    assert not folder.holds_checkpoints()
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["notes.txt"]


def test_atomic_write_refuses_a_folder_as_target(tmp_path):
    (tmp_path / "out").mkdir()
    with pytest.raises(CheckpointError, match="is a folder, expected a file path"):
        checkpoint.atomic_write(tmp_path / "out", b"data")
    with pytest.raises(CheckpointError, match="is a folder"):
        checkpoint.save(tmp_path / "out", bn_net(), None)
    assert list((tmp_path / "out").iterdir()) == []


def test_resume_through_a_file_is_bit_identical(tmp_path):
    ds = data.load("digits", seed=0, n=200)
    ce = losses.SoftmaxCrossEntropy()

    class Saver:
        def on_batch_end(self, s):
            if s.step == 6:
                checkpoint.save(tmp_path / "mid.safetensors", s.model, s.optimizer, train=s.resume_info())

    model = bn_net(3)
    full = train.fit(model, ce, optim.SGD(model, 0.05, momentum=0.9), ds.train, ds.val, epochs=2,
                     batch_size=32, rng=np.random.default_rng(1), callbacks=[Saver()])
    loaded, opt, state = checkpoint.load(tmp_path / "mid.safetensors")
    resumed = train.fit(loaded, ce, opt, ds.train, ds.val, epochs=2, batch_size=32,
                        rng=np.random.default_rng(0), resume=state["train"])
    assert_same_state(loaded.state_dict(), model.state_dict())
    assert resumed.deterministic() == full.deterministic()


# ------------------------------------------------------------------------------ no pickle

def test_no_pickle_anywhere_in_the_package():
    offenders = []
    for path in SRC.rglob("*.py"):
        text = path.read_text()
        if re.search(r"^\s*(import|from)\s+(c?pickle|dill|marshal)\b", text, re.M) or \
                re.search(r"allow_pickle\s*=\s*True", text):
            offenders.append(path.name)
    assert offenders == []


def test_loading_never_calls_np_load_with_pickles(monkeypatch, saved):
    path, _, _, _ = saved
    real = np.load

    def guarded(*args, **kwargs):
        assert not kwargs.get("allow_pickle"), "np.load(allow_pickle=True) called"
        return real(*args, **kwargs)

    monkeypatch.setattr(np, "load", guarded)
    checkpoint.load(path)


# ------------------------------------------------------------------------------ torch interop

def _torch_equivalent(nn, name):
    if name == "lenet5":
        return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                             nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                             nn.Linear(84, 10))
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 32, 3, padding=1),
                         nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(512, 64), nn.ReLU(),
                         nn.Linear(64, 10))


@pytest.mark.parametrize("name, size", [("lenet5", 28), ("small_cnn", 8)])
def test_a_checkpoint_loads_into_the_equivalent_torch_sequential(tmp_path, name, size):
    try:
        import torch
        import safetensors.torch
    except ImportError as exc:
        print(f"skipping the torch interop test: torch is not installed ({exc})")
        pytest.skip(f"torch is not installed ({exc}); pip install -e '.[bench]' to run it")
    model = models.build(name, in_channels=1, num_classes=10, image_size=size, rng=0)
    opt = optim.SGD(model, 0.1, momentum=0.9)
    x = np.random.default_rng(1).standard_normal((4, 1, size, size)).astype(np.float32)
    trained(model, opt) if size == 8 else None
    path = checkpoint.save(tmp_path / f"{name}.safetensors", model, None)
    net = _torch_equivalent(torch.nn, name)
    net.load_state_dict(safetensors.torch.load_file(str(path)))     # strict: same names, shapes
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model.forward(x, training=False), expected, atol=1e-5, rtol=1e-5)
    # a training checkpoint also carries the optimizer under "optim/": filter it for torch
    path = checkpoint.save(tmp_path / "with-opt.safetensors", model, opt)
    tensors = safetensors.torch.load_file(str(path))
    net.load_state_dict({k: v for k, v in tensors.items() if not k.startswith("optim/")})


def test_an_unbuilt_lazy_dense_round_trips(tmp_path):
    """Dense(None, k) has initializer names before it has parameters (its size comes with the first input)."""
    model = Sequential([layers.Flatten(), layers.Dense(None, 3, rng=0)])
    loaded, _, _ = checkpoint.load(checkpoint.save(tmp_path / "lazy.safetensors", model))
    assert loaded.layers[1].init_names == model.layers[1].init_names
    x = np.ones((2, 1, 2, 2), np.float32)
    assert loaded.forward(x).shape == (2, 3)


def test_non_ascii_digits_in_the_metadata_are_a_checkpoint_error(tmp_path, saved):
    path, _, _, _ = saved
    for edit in (lambda m: m.__setitem__("format_version", "\u00b2"),
                 lambda m: m.__setitem__("init", json.dumps({"\u00b2": {}}))):
        bad = tmp_path / "digits.safetensors"
        bad.write_bytes(_with_header(_bytes(path), lambda h: edit(h["__metadata__"])))
        with pytest.raises(CheckpointError):
            checkpoint.load(bad)
