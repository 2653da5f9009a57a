"""Hostile files and strings are refused with bounded memory: each attack runs in a fresh
subprocess whose peak RSS (resource.getrusage) may grow at most 100 MiB over its baseline
after the imports; the seconds are measured and printed, never asserted (no timing asserts).

The attacks: a checkpoint that is /dev/zero, /dev/urandom or a FIFO; a CRC-valid config that
declares 10**8 output channels or a million layers; JSON nested 100,000 deep (header and
config); an init spec with 330 unary minus signs; MNIST labels {0, 10**7} and {0, 2**31-1};
a ~1 MB gzip that expands past its header's size; a consistent gzip bomb loaded with --n 100.
"""
import gzip
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import safetensors.numpy

from initlab import checkpoint, layers, optim
from initlab.model import Sequential

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/dev/zero, FIFOs, /proc")

BUDGET_KIB = 100 * 1024
# the child: imports, baseline, the attack (one Python expression), peak RSS growth and seconds
CHILD = """
import json, os, resource, sys, time
import numpy, safetensors.numpy
from initlab import checkpoint, data
if "main(" in sys.argv[1]:
    from initlab.cli import main
from initlab.errors import InitlabError
# measured in a fork of this small process: a process made by exec keeps in ru_maxrss the peak
# of the (large) process that forked it; a fork starts from its parent's resident set
pid = os.fork()
if pid:
    sys.exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
vm = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmSize'))
limit = (vm + 2 * 1024 * 1024) * 1024      # a regression fails here, not on the machine's memory
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
try:
    result = repr(eval(sys.argv[1]))
except (InitlabError, MemoryError) as exc:
    result = f"{type(exc).__name__}: {exc}"
print(json.dumps({"result": result, "seconds": time.perf_counter() - start,
                  "grew_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base}), flush=True)
os._exit(0)
"""


def attack(expression: str, cwd, timeout=60) -> dict:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", CHILD, expression], cwd=cwd, env=env, capture_output=True,
                         text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"{expression[:70]!r}: {report['seconds']:.3f} s, +{report['grew_kib'] / 1024:.1f} MiB, {report['result'][:160]}")
    assert report["grew_kib"] < BUDGET_KIB, report
    return report


def refused(report, *words):
    assert report["result"].startswith(("CheckpointError", "DataError", "InvalidValueError")), report
    for word in words:
        assert word in report["result"], report


# ----------------------------------------------------------------------------- checkpoints

def tiny_checkpoint(folder: Path) -> Path:
    model = Sequential([layers.Conv2D(1, 2, 3, rng=0), layers.ReLU(), layers.Flatten(), layers.Dense(2, 3, rng=1)])
    folder.mkdir(exist_ok=True)
    return checkpoint.save(folder / "step-00000001.safetensors", model, optim.Adam(model, 1e-3), epoch=0)


def rewrite_metadata(path: Path, **changes) -> Path:
    """The same tensors with metadata entries replaced (raw JSON text) and the metadata CRC
    recomputed: a file that passes every checksum."""
    tensors, metadata = checkpoint.read(path)
    metadata.update(changes)
    metadata[checkpoint.METADATA_CHECKSUM] = checkpoint.metadata_checksum(metadata)
    path.write_bytes(safetensors.numpy.save(tensors, metadata=metadata))
    return path


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_checkpoint_that_links_to_a_device_is_refused_by_name(tmp_path, device):
    run = tmp_path / "run"
    run.mkdir()
    (run / "step-00000001.safetensors").symlink_to(device)
    report = attack(f"main(['train', '--resume', {str(run)!r}])", tmp_path)
    assert report["result"] == "1"      # exit status 1, one line (checked below in-process)
    report = attack(f"checkpoint.load({str(run / 'step-00000001.safetensors')!r})", tmp_path)
    refused(report, "is a character device", device, "expected a .safetensors file")


def test_a_fifo_in_the_checkpoint_folder_is_refused_not_waited_on(tmp_path, capsys):
    run = tmp_path / "run"
    tiny_checkpoint(run)
    os.mkfifo(run / "step-00000002.safetensors")
    report = attack(f"checkpoint.load({str(run / 'step-00000002.safetensors')!r})", tmp_path, timeout=30)
    refused(report, "is a FIFO", "expected a .safetensors file")
    from initlab.cli import main
    assert main(["train", "--resume", str(run)]) == 1
    err = capsys.readouterr().err
    assert "is a FIFO" in err and len(err.strip().splitlines()) == 1


def test_a_config_declaring_huge_layers_is_refused_before_anything_is_drawn(tmp_path):
    path = tiny_checkpoint(tmp_path / "run")
    config = json.loads(checkpoint.read(path)[1]["model_config"])
    config["layers"][0].update(out_channels=10**8, weight_init="he_normal")
    rewrite_metadata(path, model_config=json.dumps(config))
    refused(attack(f"checkpoint.load({str(path)!r})", tmp_path), "declares 1,000,000,009 parameter values",
            "the file holds")


@pytest.mark.parametrize("count, words", [
    (20_000, ["20,000 layers", "10,000"]),                  # the layer bound
    (300_000, ["300,00", "JSON objects/arrays"]),           # the JSON bound (before any dict is built)
    (1_500_000, ["-byte header, more than initlab reads"]),  # the header bound
])
def test_a_config_of_very_many_layers_is_refused_cheaply(tmp_path, count, words):
    path = tiny_checkpoint(tmp_path / "run")
    config = '{"dtype": "float32", "layers": [' + ", ".join(['{"type": "ReLU"}'] * count) + "]}"
    rewrite_metadata(path, model_config=config)
    refused(attack(f"checkpoint.load({str(path)!r})", tmp_path), *words)


def test_json_nested_100000_deep_is_refused_in_the_header_and_in_a_config(tmp_path):
    deep = "[" * 100_000 + "]" * 100_000
    header = ('{"__metadata__": {"x": "y"}, "t": ' + deep + "}").encode()
    raw = tmp_path / "raw.safetensors"
    raw.write_bytes(struct.pack("<Q", len(header)) + header)
    refused(attack(f"checkpoint.read({str(raw)!r})", tmp_path), "nested 100001 levels deep")
    path = rewrite_metadata(tiny_checkpoint(tmp_path / "run"), model_config=deep)
    refused(attack(f"checkpoint.load({str(path)!r})", tmp_path), "model_config", "nested 100000 levels deep")


def test_an_init_spec_of_330_minus_signs_is_a_one_line_usage_error(tmp_path, capsys):
    from initlab.cli import main
    assert main(["train", "--init", "normal(std=" + "-" * 330 + "1)"]) == 2
    err = capsys.readouterr().err
    assert "--init" in err and "nested deeper than 16 levels" in err and len(err.strip().splitlines()) == 1


# ----------------------------------------------------------------------------- MNIST files

def idx(array: np.ndarray, code: int) -> bytes:
    return bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + \
        array.astype(array.dtype.newbyteorder(">")).tobytes()


def mnist_folder(folder: Path, train_labels: np.ndarray, code: int = 0x08) -> Path:
    folder.mkdir()
    n = len(train_labels)
    (folder / "train-images-idx3-ubyte").write_bytes(idx(np.zeros((n, 28, 28), np.uint8), 0x08))
    (folder / "train-labels-idx1-ubyte").write_bytes(idx(train_labels, code))
    (folder / "t10k-images-idx3-ubyte").write_bytes(idx(np.zeros((2, 28, 28), np.uint8), 0x08))
    (folder / "t10k-labels-idx1-ubyte").write_bytes(idx(train_labels[:2], code))
    return folder


@pytest.mark.parametrize("high", [10**7, 2**31 - 1])
def test_labels_far_apart_do_not_make_millions_of_classes(tmp_path, high):
    labels = np.array([0, high] * 30, dtype=np.int32)
    folder = mnist_folder(tmp_path / "mnist", labels, code=0x0C)
    refused(attack(f"data.load('mnist:{folder}')", tmp_path), f"label {high:,} is beyond initlab's 10,000 classes")


def gzip_of_zeros(header: bytes, zeros: int) -> bytes:
    """gzip(header + `zeros` bytes of 0) as gzip members one after another (as `cat a.gz b.gz`
    makes; gzip reads them as one stream): one member per MiB, made once (never held expanded)."""
    mib = gzip.compress(bytes(1 << 20), 9)
    return gzip.compress(header) + mib * (zeros >> 20) + gzip.compress(bytes(zeros & ((1 << 20) - 1)))


def test_a_gzip_that_expands_past_its_header_is_refused_at_the_declared_size(tmp_path):
    folder = mnist_folder(tmp_path / "mnist", np.arange(20, dtype=np.uint8) % 10)
    (folder / "train-images-idx3-ubyte").unlink()
    bomb = gzip_of_zeros(idx(np.zeros((20, 28, 28), np.uint8), 0x08)[:16], 1 << 30)   # 1 GiB, 20 images declared
    assert 0.9e6 < len(bomb) < 1.3e6
    (folder / "train-images-idx3-ubyte.gz").write_bytes(bomb)
    refused(attack(f"data.load('mnist:{folder}')", tmp_path), "longer than its header says", "15680 data bytes")


def test_a_consistent_gzip_bomb_loads_only_the_examples_asked_for(tmp_path):
    count = 135_000                                      # 28x28 each: 106 MB expanded
    folder = mnist_folder(tmp_path / "mnist", np.arange(40, dtype=np.uint8) % 10)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        (folder / name).unlink()
    images = gzip_of_zeros(struct.pack(">BBBBIII", 0, 0, 8, 3, count, 28, 28), count * 784)
    assert len(images) < 150_000
    (folder / "train-images-idx3-ubyte.gz").write_bytes(images)
    labels = (np.arange(count) % 10).astype(np.uint8)
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx(labels, 0x08)))
    report = attack(f"(lambda d: (len(d.train[0]) + len(d.val[0]), d.num_classes))(data.load('mnist:{folder}', "
                    "n=100))", tmp_path)
    assert report["result"] == "(100, 10)"


# ----------------------------------------------------------------------------- the bounds themselves

def test_json_bounds_count_only_what_is_outside_strings():
    from initlab.bounded import check_json
    from initlab.errors import DataError
    text = json.dumps({"a": "[[[[[[\\\"{{{{", "b": [[1, 2], {"c": 'x\\"]]]]]]'}]})
    check_json(text, "t", DataError, max_depth=3, max_containers=4)          # depth 3, 4 containers
    with pytest.raises(DataError, match="nested 3 levels deep"):
        check_json(text, "t", DataError, max_depth=2)
    with pytest.raises(DataError, match="holds 4 JSON objects/arrays"):
        check_json(text, "t", DataError, max_containers=3)
    with pytest.raises(DataError, match="nested 65 levels"):
        check_json("[" * 65 + "]" * 65, "t", DataError)
    assert json.loads(text)["b"][1]["c"] == 'x\\"]]]]]]'


def test_gzip_members_one_after_another_read_as_one_stream(tmp_path):
    from initlab import data
    images = np.arange(2 * 5 * 4, dtype=np.uint8).reshape(2, 5, 4)
    raw = idx(images, 0x08)
    (tmp_path / "f.gz").write_bytes(gzip.compress(raw[:7]) + gzip.compress(raw[7:30]) + gzip.compress(raw[30:]))
    assert np.array_equal(data.read_idx(tmp_path / "f.gz"), images)
    assert gzip.decompress((tmp_path / "f.gz").read_bytes()) == raw
