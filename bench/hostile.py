"""Peak memory and time of each hostile input of issue 18, for one or more initlab source trees.

    python bench/hostile.py [SRC ...]        (default: this tree's src/)

Each attack is generated in a temp folder (by this tree's test helpers), then run in a fresh
subprocess per source tree (PYTHONPATH=SRC), measured as tests/test_hostile_files.py measures:
peak RSS growth over the baseline after the imports (getrusage, in a fork of a small process)
and seconds. A run is capped at 3 GiB of growth (RLIMIT_AS) and 15 s (the whole
process group is killed then, its peak RSS polled meanwhile), so that an unbounded reader
shows as such instead of exhausting the machine. Prints a Markdown table.
"""
from __future__ import annotations

import gzip
import json
import os
import struct
import subprocess
import sys
import signal
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

import test_hostile_files as t  # noqa: E402  (the generators of the hostile files)

CAP_GIB, TIMEOUT = 2, int(os.environ.get("HOSTILE_TIMEOUT", 15))
CHILD = """
import json, os, resource, sys, time
import numpy, safetensors.numpy
from initlab import checkpoint, data, init
pid = os.fork()
if pid:
    sys.exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
open(os.environ["HOSTILE_PID_FILE"], "w").write(str(os.getpid()))
vm = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmSize'))
limit = (vm + %d * 1024 * 1024) * 1024
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
try:
    result = repr(eval(sys.argv[1]))[:100]
except BaseException as exc:
    result = f"{type(exc).__name__}: {str(exc)[:100]}"
print(json.dumps({"result": result, "seconds": time.perf_counter() - start,
                  "grew_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base}), flush=True)
os._exit(0)
""" % (CAP_GIB * 1024,)


def attacks(tmp: Path):
    """(name, Python expression) of every attack, its files written under tmp."""
    for device in ("/dev/zero", "/dev/urandom"):
        link = tmp / f"link-{device[5:]}.safetensors"
        link.symlink_to(device)
        yield f"checkpoint is a symlink to {device}", f"checkpoint.load({str(link)!r})"
    run = tmp / "fifo"
    t.tiny_checkpoint(run)
    os.mkfifo(run / "step-00000002.safetensors")
    yield "checkpoint is a FIFO", f"checkpoint.load({str(run / 'step-00000002.safetensors')!r})"

    path = t.tiny_checkpoint(tmp / "conv")
    config = json.loads(t.checkpoint.read(path)[1]["model_config"])
    config["layers"][0].update(out_channels=10**8, weight_init="he_normal")
    t.rewrite_metadata(path, model_config=json.dumps(config))
    yield "config: Conv2D with 10^8 output channels", f"checkpoint.load({str(path)!r})"
    for count in (1_000_000, 2_000_000):
        path = t.tiny_checkpoint(tmp / f"relu{count}")
        t.rewrite_metadata(path, model_config='{"dtype": "float32", "layers": ['
                           + ", ".join(['{"type": "ReLU"}'] * count) + "]}")
        yield f"config: {count:,} ReLU layers", f"checkpoint.load({str(path)!r})"

    deep = "[" * 100_000 + "]" * 100_000
    header = ('{"__metadata__": {"x": "y"}, "t": ' + deep + "}").encode()
    raw = tmp / "deep-header.safetensors"
    raw.write_bytes(struct.pack("<Q", len(header)) + header)
    yield "header JSON nested 100,000 deep", f"checkpoint.read({str(raw)!r})"
    path = t.rewrite_metadata(t.tiny_checkpoint(tmp / "deep-config"), model_config=deep)
    yield "config JSON nested 100,000 deep (CRC-valid)", f"checkpoint.load({str(path)!r})"
    yield "--init 'normal(std=-...-1)', 330 minus signs", f"init.get('normal(std=' + '-' * 330 + '1)')"

    for high in (10**7, 2**31 - 1):
        folder = t.mnist_folder(tmp / f"labels{high}", np.array([0, high] * 30, dtype=np.int32), code=0x0C)
        yield f"MNIST labels {{0, {high:,}}}", f"data.load('mnist:{folder}')"
    folder = t.mnist_folder(tmp / "bomb", np.arange(20, dtype=np.uint8) % 10)
    (folder / "train-images-idx3-ubyte").unlink()
    bomb = t.gzip_of_zeros(t.idx(np.zeros((20, 28, 28), np.uint8), 0x08)[:16], 1 << 30)
    (folder / "train-images-idx3-ubyte.gz").write_bytes(bomb)
    yield f"{len(bomb) / 1e6:.1f} MB gzip expanding to 1 GiB past its header", f"data.load('mnist:{folder}')"
    count = 540_000
    folder = t.mnist_folder(tmp / "consistent", np.arange(40, dtype=np.uint8) % 10)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        (folder / name).unlink()
    images = t.gzip_of_zeros(struct.pack(">BBBBIII", 0, 0, 8, 3, count, 28, 28), count * 784)
    (folder / "train-images-idx3-ubyte.gz").write_bytes(images)
    labels = (np.arange(count) % 10).astype(np.uint8)
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(t.idx(labels, 0x08)))
    yield (f"consistent {len(images) / 1e3:.0f} KB gzip bomb (423 MB), --n 100",
           f"len(data.load('mnist:{folder}', n=100).train[0])")


def _rss_mib(pid_file: Path) -> float:
    try:
        pid = int(pid_file.read_text())
        with open(f"/proc/{pid}/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024
    except (OSError, ValueError, StopIteration):
        return 0.0


def measure(src: str, expression: str, cwd) -> str:
    pid_file = Path(cwd) / "measured.pid"
    pid_file.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": src, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "HOSTILE_PID_FILE": str(pid_file)}
    proc = subprocess.Popen([sys.executable, "-c", CHILD, expression], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline, peak = time.monotonic() + TIMEOUT, 0.0
    while proc.poll() is None and time.monotonic() < deadline:
        peak = max(peak, _rss_mib(pid_file))
        time.sleep(0.05)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)          # the child and the fork it measures
        proc.communicate()
        return f"RSS {peak:,.0f} MiB and growing or stuck: killed at {TIMEOUT} s"
    out, err = proc.communicate()
    try:
        report = json.loads(out.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return f"crashed ({err.strip().splitlines()[-1][:60] if err.strip() else proc.returncode})"
    mib = report["grew_kib"] / 1024
    result = report["result"]
    what = result.split(":")[0] if ":" in result[:40] else "loaded"
    peak = f"+{mib:,.0f} MiB, then MemoryError at the {CAP_GIB} GiB cap" if result.startswith("MemoryError") \
        else f"+{mib:,.1f} MiB"
    return f"{peak}, {report['seconds']:.2f} s, {what}"


def main(sources):
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        for name, expression in attacks(Path(tmp)):
            rows.append((name, *(measure(src, expression, tmp) for src in sources)))
            print(" | ".join(rows[-1]), file=sys.stderr, flush=True)
    print("| attack | " + " | ".join(sources) + " |")
    print("|---" * (len(sources) + 1) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main(sys.argv[1:] or [str(ROOT / "src")])
