"""Peak resident memory of a LeNet-5 training run, each framework in a fresh process.

The parent starts `python -m bench.memory --framework NAME --steps S --threads T`; the child
trains LeNet-5 (batch 64, 28x28, SGD momentum 0.9) on a few cycling random batches and prints
one JSON line: its peak resident set (VmHWM; see `train` for why not ru_maxrss) and its
resident set just before the first step (interpreter + imports + model + data), so the
training's own growth is visible. The initlab child never imports torch.
"""
import argparse
import json
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BATCH, SIZE, DISTINCT_BATCHES = 64, 28, 4
TARGET_RATIO = 1.0   # issue 5: no more than PyTorch's peak


def _status_mib(field: str) -> float:
    """A size field of /proc/self/status ('VmRSS', 'VmHWM'), in MiB."""
    with open("/proc/self/status", encoding="utf-8") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def train(framework: str, steps: int, threads: int) -> dict:
    """Train LeNet-5 for `steps` steps in this process; report resident set sizes in MiB."""
    from .timing import pinned_threads
    from .workloads import training_batch
    if framework == "torch":
        import torch
        from . import torch_side as side
        torch.manual_seed(0)
        model, torch_module = side.he_init(side.lenet5()), torch
    elif framework == "initlab":
        from . import initlab_side as side
        model, torch_module = side.lenet5(rng=0), None
    else:
        raise SystemExit(f"--framework: expected 'initlab' or 'torch', got {framework!r}")
    batches = [training_batch(BATCH, SIZE, seed=i) for i in range(DISTINCT_BATCHES)]
    loss = float("nan")
    with pinned_threads(threads, torch_module):
        step = side.trainer(model, lr=0.01, momentum=0.9)
        setup_rss = _status_mib("VmRSS")
        for i in range(steps):
            loss = step(*batches[i % DISTINCT_BATCHES])
    # ru_maxrss is carried over exec from the forking parent (Linux keeps the larger of the
    # two), so a child of the big benchmark process would report the parent's peak; VmHWM is
    # this address space's own high-water mark. Both are recorded.
    return {"framework": framework, "steps": steps, "threads": threads,
            "peak_rss_mib": _status_mib("VmHWM"), "setup_rss_mib": setup_rss,
            "ru_maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "final_loss": float(loss.item() if hasattr(loss, "item") else loss),
            "torch_loaded": "torch" in sys.modules}


def measure(framework: str, steps: int, threads: int, timeout_s: float = 300) -> dict:
    """Run `train` in a child interpreter; its JSON line, or {"error": ...} if it failed."""
    command = [sys.executable, "-m", "bench.memory", "--framework", framework,
               "--steps", str(steps), "--threads", str(threads)]
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout_s:.0f} s"}
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        return {"error": f"exit {done.returncode}: {tail[:160]}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_memory(threads: int, steps: int) -> dict:
    """The memory record for the table: both frameworks' peaks and the ratio initlab/PyTorch."""
    sides = {name: measure(name, steps, threads) for name in ("initlab", "torch")}
    ratio = None
    if all("peak_rss_mib" in s for s in sides.values()):
        ratio = sides["initlab"]["peak_rss_mib"] / sides["torch"]["peak_rss_mib"]
    return {"workload": "memory", "case": "", "threads": threads,
            "label": f"LeNet-5 training, {steps} steps, peak RSS", "sides": sides,
            "ratio": None if ratio is None else {"median": ratio, "min": ratio, "max": ratio},
            "target": {"ratio_at_most": TARGET_RATIO},
            "met": None if ratio is None else ratio <= TARGET_RATIO}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__.splitlines()[0])
    parser.add_argument("--framework", required=True, choices=("initlab", "torch"))
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    print(json.dumps(train(args.framework, args.steps, args.threads)))


if __name__ == "__main__":
    main()
