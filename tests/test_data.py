"""initlab.data: shapes, digits, IDX/MNIST files, batching, splitting, named datasets."""
import gzip
import struct

import numpy as np
import pytest

from initlab import data
from initlab.errors import DataError, InvalidValueError, ShapeError, UnknownNameError


# ------------------------------------------------------------------------------------- shapes

def test_shapes_shape_dtype_and_balance():
    x, y = data.shapes(83, rng=0)
    assert x.shape == (83, 1, 16, 16) and x.dtype == np.float32
    assert y.shape == (83,) and y.dtype == np.int64
    counts = np.bincount(y, minlength=8)
    assert counts.sum() == 83 and counts.max() - counts.min() <= 1
    assert sorted(counts) == [10] * 5 + [11] * 3
    assert not np.array_equal(y, np.sort(y))  # shuffled


def test_shapes_values_without_noise_lie_in_unit_interval_and_draw_something():
    x, _ = data.shapes(64, size=12, noise=0.0, rng=1)
    assert x.shape == (64, 1, 12, 12)
    assert x.min() >= 0.0 and x.max() <= 1.0
    # a stroke passes within 0.5 px of some pixel centre, and width >= 1 px, so its peak is >= 0.5
    assert (x.reshape(64, -1).max(axis=1) >= 0.5).all()
    on = (x > 0.5).reshape(64, -1).mean(axis=1)
    assert (on > 0.03).all() and (on < 0.6).all()  # a stroke, not an empty or a filled image


def test_shapes_same_seed_same_bits_other_seed_differs():
    a, ya = data.shapes(50, rng=7)
    b, yb = data.shapes(50, rng=7)
    c, _ = data.shapes(50, rng=8)
    assert np.array_equal(a, b) and np.array_equal(ya, yb)
    assert not np.array_equal(a, c)


def test_shapes_class_subset_and_label_meaning():
    x, y = data.shapes(40, classes=("hline", "vline"), noise=0.0, rng=3)
    assert set(np.unique(y)) == {0, 1}
    img = x[:, 0]
    # a horizontal line lights up more pixels along a row than along a column; a vertical one the reverse
    row_extent = (img > 0.5).any(axis=1).sum(axis=1)   # how many columns are lit
    col_extent = (img > 0.5).any(axis=2).sum(axis=1)   # how many rows are lit
    assert (row_extent[y == 0] > col_extent[y == 0]).all()
    assert (col_extent[y == 1] > row_extent[y == 1]).all()


def test_shapes_classes_are_learnable_by_a_linear_classifier():
    from sklearn.linear_model import LogisticRegression

    x, y = data.shapes(2000, rng=0)
    xt, yt = data.shapes(600, rng=1)
    clf = LogisticRegression(max_iter=200).fit(x.reshape(len(x), -1), y)
    accuracy = clf.score(xt.reshape(len(xt), -1), yt)
    assert accuracy > 0.6  # chance is 1/8; measured about 0.8


@pytest.mark.parametrize("kwargs, match", [
    ({"n": 0}, "n"),
    ({"n": 10, "size": 7}, "size"),
    ({"n": 10, "noise": -0.1}, "noise"),
    ({"n": 10, "classes": ()}, "classes"),
    ({"n": 10, "classes": ("x", "x")}, "classes"),
    ({"n": 10, "classes": None}, r"classes: expected a shape class name or a list of them .*got None"),
    ({"n": 10, "classes": 5}, r"classes: expected a shape class name or a list of them .*got 5"),
])
def test_shapes_rejects_bad_arguments(kwargs, match):
    with pytest.raises(InvalidValueError, match=match):
        data.shapes(**kwargs)


def test_shapes_unknown_class_suggests_a_name():
    with pytest.raises(UnknownNameError, match="shape class 'sqare'; did you mean 'square'"):
        data.shapes(10, classes=("x", "sqare"))


# ------------------------------------------------------------------------------------- digits

def test_digits_shapes_and_range():
    x, y = data.digits()
    assert x.shape == (1797, 1, 8, 8) and x.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0
    assert set(np.unique(y)) == set(range(10))


# ---------------------------------------------------------------------------------------- IDX

_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C,
          np.float32: 0x0D, np.float64: 0x0E}


def idx_bytes(array: np.ndarray, code: int | None = None) -> bytes:
    """The IDX encoding of `array` (written here independently of the reader)."""
    code = _CODES[array.dtype.type] if code is None else code
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


@pytest.mark.parametrize("dtype", list(_CODES))
@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_round_trip(tmp_path, dtype, compress):
    rng = np.random.default_rng(0)
    array = (rng.standard_normal((3, 4, 5)) * 100).astype(dtype)
    payload = idx_bytes(array)
    path = tmp_path / "file.idx"  # no .gz suffix: gzip is detected from the bytes
    path.write_bytes(gzip.compress(payload) if compress else payload)
    out = data.read_idx(path)
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    assert np.array_equal(out, array)
    assert out.flags.writeable


def test_read_idx_one_dimensional_labels(tmp_path):
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    (tmp_path / "labels").write_bytes(idx_bytes(labels))
    assert data.read_idx(tmp_path / "labels").tolist() == [3, 1, 4, 1, 5]


def test_read_idx_wrong_magic(tmp_path):
    good = idx_bytes(np.zeros((2, 2), np.uint8))
    for bad in (b"\x01" + good[1:], good[:2] + b"\x07" + good[3:], b"PK\x03\x04" + good[4:]):
        (tmp_path / "bad").write_bytes(bad)
        with pytest.raises(DataError, match="bad magic number"):
            data.read_idx(tmp_path / "bad")


def test_read_idx_truncated_names_file_and_sizes(tmp_path):
    payload = idx_bytes(np.arange(24, dtype=np.int32).reshape(2, 3, 4))
    path = tmp_path / "short-idx"
    path.write_bytes(payload[:-5])
    with pytest.raises(DataError, match=r"short-idx.*truncated.*need 96 data bytes, found 91"):
        data.read_idx(path)
    path.write_bytes(payload + b"\x00")
    with pytest.raises(DataError, match="longer than its header says"):
        data.read_idx(path)


def test_read_idx_wrong_ndim(tmp_path):
    payload = idx_bytes(np.zeros((2, 3), np.uint8))
    path = tmp_path / "f"
    path.write_bytes(payload[:2] + b"\x08\x05" + payload[4:])  # says 5 dims, has 2 + data
    with pytest.raises(DataError, match="5 dimension"):
        data.read_idx(path)
    path.write_bytes(payload[:3] + b"\x00")
    with pytest.raises(DataError, match="0 dimensions"):
        data.read_idx(path)
    path.write_bytes(b"\x00\x00")
    with pytest.raises(DataError, match="4-byte magic"):
        data.read_idx(path)


def test_read_idx_missing_and_damaged_gzip(tmp_path):
    with pytest.raises(DataError, match="nope.*does not exist"):
        data.read_idx(tmp_path / "nope")
    (tmp_path / "broken.gz").write_bytes(gzip.compress(idx_bytes(np.zeros(50, np.uint8)))[:-12])
    with pytest.raises(DataError, match="broken.gz.*gzip"):
        data.read_idx(tmp_path / "broken.gz")


# -------------------------------------------------------------------------------------- MNIST

def write_fake_mnist(folder, n_train=12, n_test=5, gz=("train-images-idx3-ubyte",)):
    """Four tiny IDX files in MNIST's names; the ones in `gz` are gzipped with a .gz name."""
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": (np.arange(n_train) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": (np.arange(n_test) % 10).astype(np.uint8),
    }
    folder.mkdir(exist_ok=True)
    for name, array in arrays.items():
        payload = idx_bytes(array)
        if name in gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(payload))
        else:
            (folder / name).write_bytes(payload)
    return arrays


def test_mnist_reads_a_fake_folder(tmp_path):
    arrays = write_fake_mnist(tmp_path / "mnist")
    (x_train, y_train), (x_test, y_test) = data.mnist(tmp_path / "mnist")
    assert x_train.shape == (12, 1, 28, 28) and x_train.dtype == np.float32
    assert x_test.shape == (5, 1, 28, 28) and y_test.dtype == np.int64
    assert np.allclose(x_train[:, 0] * 255, arrays["train-images-idx3-ubyte"])
    assert y_train.tolist() == list(np.arange(12) % 10)
    assert 0.0 <= x_test.min() and x_test.max() <= 1.0


def test_mnist_missing_folder_says_where_to_get_the_files(tmp_path):
    with pytest.raises(DataError) as info:
        data.mnist(tmp_path / "no-such-folder")
    message = str(info.value)
    assert "no-such-folder" in message and "train-images-idx3-ubyte" in message
    assert "MNIST" in message and "never downloads" in message


def test_mnist_missing_file_is_named(tmp_path):
    write_fake_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError, match=r"lacks t10k-labels-idx1-ubyte \(or the \.gz\)") as info:
        data.mnist(tmp_path)
    assert "train-labels" not in str(info.value).split(";")[0]


def test_mnist_label_count_mismatch(tmp_path):
    write_fake_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(4, np.uint8)))
    with pytest.raises(DataError, match="5 images but .* 4 labels"):
        data.mnist(tmp_path)


@pytest.mark.parametrize("where", [data.read_idx, data.mnist])
def test_a_path_that_is_not_a_path_is_named(where):
    name = "read_idx path" if where is data.read_idx else "MNIST folder"
    with pytest.raises(InvalidValueError, match=rf"{name}: expected a path \(str or pathlib.Path\), got None"):
        where(None)


def _relabel(folder, train=None, test=None):
    if train is not None:
        (folder / "train-labels-idx1-ubyte").write_bytes(idx_bytes(np.asarray(train, np.uint8)))
    if test is not None:
        (folder / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(np.asarray(test, np.uint8)))


@pytest.mark.parametrize("train, test, file, match", [
    ([200] * 12, None, "train-labels", r"expected at least two classes.*; found only label 200 in its 12 example"),
    (None, [0, 1, 2, 3, 12], "t10k-labels", r"test label 12 is not a class of the training labels \(0, 1, 2"),
    ([3, 8] * 6, [3, 8, 5, 3, 8], "t10k-labels", r"test label 5 is not a class of the training labels \(3, 8\)"),
])
def test_mnist_labels_must_be_classes_with_training_examples(tmp_path, train, test, file, match):
    """Labels all 200 used to load as a '201-class' dataset the CLI then trained on."""
    write_fake_mnist(tmp_path)
    _relabel(tmp_path, train, test)
    with pytest.raises(DataError, match=rf"{file}-idx1-ubyte': .*{match}"):
        data.mnist(tmp_path)
    with pytest.raises(DataError, match=file):
        data.load(f"mnist:{tmp_path}")


def test_idx_datasets_with_other_class_counts_still_load(tmp_path):
    """Any two or more training labels load: EMNIST-like K = 12, labels from 1, a 3-vs-8 subset."""
    write_fake_mnist(tmp_path, n_train=24)
    _relabel(tmp_path, train=np.arange(24) % 12, test=[11, 0, 3, 3, 7])
    ds = data.load(f"mnist:{tmp_path}")
    assert ds.num_classes == 12 and ds.class_names[-1] == "11"
    # EMNIST Letters: labels 1..26, so 27 outputs with unit 0 never the target
    _relabel(tmp_path, train=np.arange(24) % 12 + 1, test=[12, 1, 3, 3, 7])
    assert data.load(f"mnist:{tmp_path}").num_classes == 13
    # a subset: 3 vs 8 (outputs 0..8, six of them never a target)
    _relabel(tmp_path, train=[3, 8] * 12, test=[3, 8, 8, 3, 3])
    assert data.load(f"mnist:{tmp_path}").num_classes == 9


def test_mnist_test_images_of_another_size_are_refused_at_load(tmp_path):
    write_fake_mnist(tmp_path)
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(idx_bytes(np.zeros((5, 20, 20), np.uint8)))
    with pytest.raises(DataError, match="the test images are 20x20, the training images 28x28"):
        data.load(f"mnist:{tmp_path}")      # (it used to fail after training, in the first Dense)


# ------------------------------------------------------------------------------------ batches

def test_batches_cover_every_index_once_per_epoch():
    x = np.arange(23, dtype=np.float32).reshape(23, 1)
    y = np.arange(23)
    seen = []
    for xb, yb in data.batches(x, y, 5, rng=0):
        assert np.array_equal(xb[:, 0], yb)  # x and y stay aligned
        seen.append(yb)
    assert [len(b) for b in seen] == [5, 5, 5, 5, 3]
    assert sorted(np.concatenate(seen).tolist()) == list(range(23))
    assert not np.array_equal(np.concatenate(seen), np.arange(23))  # shuffled


def test_batches_drop_last_and_no_shuffle():
    x, y = np.zeros((23, 2)), np.arange(23)
    sizes = [len(yb) for _, yb in data.batches(x, y, 5, drop_last=True, rng=1)]
    assert sizes == [5, 5, 5, 5]
    ordered = [yb.tolist() for _, yb in data.batches(x, y, 10, shuffle=False)]
    assert ordered == [list(range(10)), list(range(10, 20)), [20, 21, 22]]
    assert [len(b) for _, b in data.batches(x, y, 30, drop_last=True, shuffle=False)] == []


def test_batches_deterministic_by_seed_and_new_order_each_epoch():
    x, y = np.zeros((40, 1)), np.arange(40)
    first = [yb.tolist() for _, yb in data.batches(x, y, 8, rng=3)]
    again = [yb.tolist() for _, yb in data.batches(x, y, 8, rng=3)]
    assert first == again
    gen = np.random.default_rng(3)
    epoch1 = [yb.tolist() for _, yb in data.batches(x, y, 8, rng=gen)]
    epoch2 = [yb.tolist() for _, yb in data.batches(x, y, 8, rng=gen)]
    assert epoch1 == first and epoch2 != epoch1


def test_batches_checks_arguments_eagerly():
    with pytest.raises(InvalidValueError, match="batch_size"):
        data.batches(np.zeros((4, 1)), np.zeros(4, int), 0)
    with pytest.raises(ValueError, match="shape"):
        data.batches(np.zeros((4, 1)), np.zeros(3, int), 2)


# -------------------------------------------------------------------------------------- split

def _labels(n_per_class=(50, 30, 7, 3, 2, 1)):
    y = np.repeat(np.arange(len(n_per_class)), n_per_class)
    x = np.arange(len(y), dtype=np.float32).reshape(-1, 1, 1, 1)  # x encodes the index
    return x, y


def test_split_disjoint_covering_and_aligned():
    x, y = _labels()
    s = data.split(x, y, rng=0)
    ids = [part[0].reshape(-1).astype(int) for part in (s.train, s.val, s.test)]
    together = np.concatenate(ids)
    assert sorted(together.tolist()) == list(range(len(y)))  # disjoint and covering
    for (xp, yp), i in zip((s.train, s.val, s.test), ids):
        assert np.array_equal(yp, y[i])


def test_split_stratified_sizes_and_presence():
    x, y = _labels()
    s = data.split(x, y, val_fraction=0.1, test_fraction=0.2, rng=0)
    count = lambda part, c: int((part[1] == c).sum())  # noqa: E731
    assert [count(s.test, 0), count(s.val, 0), count(s.train, 0)] == [10, 5, 35]
    assert [count(s.test, 1), count(s.val, 1), count(s.train, 1)] == [6, 3, 21]
    for c in (0, 1, 2, 3):  # every class with >= 3 examples is in every part
        assert min(count(s.test, c), count(s.val, c), count(s.train, c)) >= 1
    assert count(s.train, 5) == 1 and count(s.train, 4) >= 1  # the train part never loses a class


def test_split_deterministic_and_seed_dependent():
    x, y = _labels()
    a, b, c = data.split(x, y, rng=4), data.split(x, y, rng=4), data.split(x, y, rng=5)
    assert np.array_equal(a.test[0], b.test[0]) and np.array_equal(a.train[1], b.train[1])
    assert not np.array_equal(a.test[0], c.test[0])


def test_split_unstratified_and_zero_fractions():
    x, y = _labels()
    s = data.split(x, y, val_fraction=0.0, test_fraction=0.25, rng=0, stratify=False)
    assert len(s.val[1]) == 0 and len(s.test[1]) == round(0.25 * len(y)) == 23
    assert len(s.train[1]) == len(y) - 23


@pytest.mark.parametrize("y, error, message", [
    (np.array([0, np.nan] * 5), DataError, "5 NaN label"),                    # were dropped silently
    (np.eye(2)[np.arange(10) % 2], ShapeError, r"1-D class labels, got y of shape \(10, 2\)"),
    (np.arange(10) * 0.1, DataError, r"non-integer targets \(e.g. 0.1: regression\?\)"),  # gave 10/0/0
])
def test_stratified_split_refuses_what_is_not_class_labels(y, error, message):
    with pytest.raises(error, match=message):
        data.split(np.zeros((10, 1, 2, 2)), y, rng=0)
    s = data.split(np.zeros((10, 1, 2, 2)), y, rng=0, stratify=False)      # fine without classes
    assert sum(len(part[1]) for part in (s.train, s.val, s.test)) == 10


def test_split_stratifies_float_and_string_class_labels():
    for y in (np.arange(10) % 2 * 1.0, np.array(list("ab" * 5))):
        s = data.split(np.zeros((10, 1, 2, 2)), y, rng=0)
        parts = (s.train, s.val, s.test)
        assert [len(part[1]) for part in parts] == [6, 2, 2]
        assert all(set(part[1]) == set(y) for part in parts)


@pytest.mark.parametrize("val, test", [(-0.1, 0.2), (0.1, 1.0), (0.5, 0.5), (0.7, 0.4)])
def test_split_rejects_bad_fractions(val, test):
    x, y = _labels()
    with pytest.raises(InvalidValueError, match="fraction"):
        data.split(x, y, val_fraction=val, test_fraction=test)


# --------------------------------------------------------------------------------------- load

@pytest.mark.parametrize("name, n, channels, size, classes", [
    ("shapes", 400, 1, (16, 16), 8),
    ("digits", None, 1, (8, 8), 10),
])
def test_load_standardizes_with_train_statistics(name, n, channels, size, classes):
    ds = data.load(name, seed=0, n=n)
    assert ds.name == name and ds.in_channels == channels and ds.image_size == size
    assert ds.num_classes == classes == len(ds.class_names)
    x_train = ds.train[0]
    assert x_train.dtype == np.float32 and x_train.shape[1:] == (channels, *size)
    assert abs(float(x_train.mean())) < 1e-4 and abs(float(x_train.std()) - 1) < 1e-3
    assert abs(float(ds.test[0].mean())) < 0.2  # the same statistics, applied to another part
    total = sum(len(part[1]) for part in (ds.train, ds.val, ds.test))
    assert total == (400 if name == "shapes" else 1797)
    assert len(ds.mean) == len(ds.std) == channels and ds.std[0] > 0


def test_load_digits_raw_keeps_values_and_records_identity_normalization():
    ds = data.load("digits", standardize=False, n=300, seed=1)
    assert ds.mean == (0.0,) and ds.std == (1.0,)
    assert ds.train[0].min() >= 0 and ds.train[0].max() <= 1
    assert sum(len(p[1]) for p in (ds.train, ds.val, ds.test)) == 300


def test_load_is_deterministic_by_seed():
    a, b = data.load("shapes", seed=3, n=200), data.load("shapes", seed=3, n=200)
    c = data.load("shapes", seed=4, n=200)
    assert np.array_equal(a.train[0], b.train[0]) and np.array_equal(a.test[1], b.test[1])
    assert not np.array_equal(a.train[0], c.train[0])


def test_load_mnist_from_a_folder(tmp_path):
    write_fake_mnist(tmp_path, n_train=40, n_test=10)
    ds = data.load(f"mnist:{tmp_path}")
    assert ds.image_size == (28, 28) and ds.num_classes == 10 and ds.in_channels == 1
    assert len(ds.test[1]) == 10 and len(ds.train[1]) + len(ds.val[1]) == 40
    capped = data.load(f"mnist:{tmp_path}", n=20)
    assert len(capped.train[1]) + len(capped.val[1]) == 20 and len(capped.test[1]) == 10
    with pytest.raises(DataError, match="never downloads"):
        data.load(f"mnist:{tmp_path / 'missing'}")
    with pytest.raises(InvalidValueError, match="mnist:PATH"):
        data.load("mnist")


def test_load_unknown_name_suggests():
    with pytest.raises(UnknownNameError, match="unknown dataset 'digit'; did you mean 'digits'") as info:
        data.load("digit")
    assert "mnist:PATH" in str(info.value)
    assert data.DATASETS == ("shapes", "digits", "mnist:PATH")


def test_check_name_validates_without_loading(tmp_path):
    from initlab.data import check_name
    assert check_name("shapes") == "shapes" and check_name("digits") == "digits"
    assert check_name(f"mnist:{tmp_path}") == "mnist"
    with pytest.raises(UnknownNameError, match="did you mean 'digits'"):
        check_name("digit")
    with pytest.raises(InvalidValueError, match="mnist:PATH"):
        check_name("mnist")
    with pytest.raises(DataError, match="does not exist"):
        check_name(f"mnist:{tmp_path / 'missing'}")
