"""Interleaved timing (A B A B ...), summary statistics, thread pinning and the matmul peak.

Wall-clock times on a shared machine drift by 10-30% over minutes, so the sides of a comparison
run in alternating rounds and the headline number is the median of the per-round ratios: a
slow patch of the machine hits both sides of a round alike.
"""
import gc
import math
import os
import statistics
import time
from contextlib import contextmanager

import numpy as np
from threadpoolctl import threadpool_limits


def describe_error(exc: BaseException) -> str:
    """'TypeName: message', one line, short enough for a table cell."""
    text = f"{type(exc).__name__}: {exc}".splitlines()[0]
    return text if len(text) <= 160 else text[:157] + "..."


def _timed_calls(fn, calls: int) -> float:
    """Seconds per call of `calls` back-to-back calls, after a full garbage collection.

    The collector is paused inside the timed region (as `timeit` does), so a collection
    triggered by the other side's garbage is not billed to this one.
    """
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        return (time.perf_counter() - start) / calls
    finally:
        gc.enable()


def interleave(sides, *, rounds, warmup=2, min_rounds=3, budget_s=10.0, sample_s=0.05,
               max_calls=50, settle_s=0.0):
    """Time every side of `sides` ({name: zero-argument callable}) in alternating rounds.

    Each side first runs `warmup` times (alternating too). A side that raises during warm-up is
    dropped and its error returned. Then each round times every side once; a sample is the mean
    of `calls` back-to-back calls, with `calls` chosen from the warm-up so a sample lasts about
    `sample_s` (short calls are too close to the timer's and the scheduler's resolution).
    Rounds stop at `rounds`, or once `budget_s` is spent and `min_rounds` are done.
    `settle_s`: a pause before every sample, so that the worker threads the previous side left
    spinning (OpenBLAS's spin ~0.1 s after its last product, OpenMP's ~10 ms, measured here)
    have gone to sleep and do not compete with this side's threads for the cores.

    Returns (samples {name: [seconds per call, one per round]}, calls {name: int},
             errors {name: message}).
    """
    live, errors, last = dict(sides), {}, {}
    for _ in range(max(1, warmup)):
        for name, fn in list(live.items()):
            try:
                start = time.perf_counter()
                fn()
                last[name] = time.perf_counter() - start
            except Exception as exc:  # noqa: BLE001 -- one side failing must not stop the suite
                errors[name] = describe_error(exc)
                del live[name]
    calls = {name: max(1, min(max_calls, math.ceil(sample_s / max(last[name], 1e-9))))
             for name in live}
    samples = {name: [] for name in live}
    started = time.perf_counter()
    for done in range(1, rounds + 1):
        for name, fn in live.items():
            if settle_s:
                time.sleep(settle_s)
            samples[name].append(_timed_calls(fn, calls[name]))
        if done >= min_rounds and time.perf_counter() - started - settle_s * len(live) * done > budget_s:
            break
    return samples, calls, errors


def summary(seconds):
    """min / median / max of a list of per-call times, in milliseconds."""
    return {
        "min_ms": 1e3 * min(seconds),
        "median_ms": 1e3 * statistics.median(seconds),
        "max_ms": 1e3 * max(seconds),
        "rounds": len(seconds),
    }


def paired_ratio(numerator, denominator):
    """Median, min and max over rounds of numerator[i] / denominator[i] (same round)."""
    ratios = [a / b for a, b in zip(numerator, denominator)]
    return {"median": statistics.median(ratios), "min": min(ratios), "max": max(ratios)}


@contextmanager
def pinned_threads(n: int, torch=None):
    """Limit NumPy's BLAS to `n` threads (threadpoolctl) and PyTorch's intra-op pool to `n`."""
    previous = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(n)
    try:
        with threadpool_limits(limits=n, user_api="blas"):
            yield
    finally:
        if torch is not None:
            torch.set_num_threads(previous)


def matmul_peak(size=1024, repeats=10, rng=0):
    """float32 GFLOP/s of an (size x size) @ (size x size) NumPy product at the current threads.

    2*size**3 flops per product; `best` (from the fastest repeat) is the peak that conv
    throughput is compared with, `median` shows how steady the machine was.
    """
    gen = np.random.default_rng(rng)
    a = gen.standard_normal((size, size), dtype=np.float32)
    b = gen.standard_normal((size, size), dtype=np.float32)
    out = np.empty((size, size), dtype=np.float32)
    for _ in range(2):
        np.matmul(a, b, out=out)
    times = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        np.matmul(a, b, out=out)
        times.append(time.perf_counter() - start)
    flops = 2.0 * size ** 3
    return {"size": size, "repeats": repeats, "best_gflops": flops / min(times) / 1e9,
            "median_gflops": flops / statistics.median(times) / 1e9}


def _busy_seconds() -> float:
    """CPU seconds all CPUs have spent busy since boot (/proc/stat), or NaN off Linux."""
    try:
        with open("/proc/stat", encoding="utf-8") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return float("nan")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)          # idle + iowait
    busy = sum(fields[:8]) - idle                                       # guest is inside user
    return busy / os.sysconf("SC_CLK_TCK")


def _own_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class OtherLoad:
    """How many CPUs other processes kept busy while a block ran (a noise indicator).

    other = (busy CPU time of the machine - this process's and its children's) / wall time.
    On the 2-core machine, 1.0 means another process held a whole core the whole time.
    """

    def __enter__(self):
        self.start = (time.perf_counter(), _busy_seconds(), _own_seconds())
        return self

    def __exit__(self, *exc):
        wall, busy, own = (end - start for end, start in
                           zip((time.perf_counter(), _busy_seconds(), _own_seconds()), self.start))
        self.cores = max(0.0, (busy - own) / wall) if wall > 0 else float("nan")
        return False
