"""`python -m bench`: time initlab beside PyTorch (CPU) and a textbook NumPy peer; print tables.

    python -m bench                      # everything, 1 and 2 threads -> bench/results/latest.json
    python -m bench --quick              # a smoke run with few repeats -> bench/results/partial.json
    python -m bench --only conv,peer --threads 1
"""
import argparse
import dataclasses
import os
import sys
import time
import traceback
from pathlib import Path

from . import machine, memory, report, workloads
from .timing import OtherLoad, describe_error, matmul_peak, pinned_threads

WORKLOADS = ("conv", "lenet", "deep", "peer", "memory")
RESULTS = Path(__file__).resolve().parent / "results"
FULL_THREADS = [1, 2]
REDUCE_AFTER_S = 390   # past this, the remaining jobs run with quick settings (make bench < 10 min)


def _names(text: str) -> list:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown workload {', '.join(unknown) or repr(text)}; choose from {', '.join(WORKLOADS)}")
    return names


def _threads(text: str) -> list:
    try:
        counts = [int(n) for n in text.split(",") if n.strip()]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"expected thread counts like '1,2', got {text!r}")
    return counts


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few repeats: a smoke run, not for the README")
    parser.add_argument("--only", type=_names, default=list(WORKLOADS),
                        help=f"comma-separated subset of {','.join(WORKLOADS)}")
    parser.add_argument("--threads", type=_threads, default=FULL_THREADS,
                        help="comma-separated thread counts (BLAS and torch intra-op), default 1,2")
    parser.add_argument("--out", type=Path, default=None,
                        help="results JSON (default bench/results/latest.json for a full run on "
                             "OpenBLAS's own kernels, bench/results/partial.json otherwise)")
    return parser.parse_args(argv)


class Progress:
    """One line per workload on stderr, with the time since the start."""

    def __init__(self):
        self.start = time.perf_counter()

    def __call__(self, text: str):
        print(f"[{time.perf_counter() - self.start:6.1f} s] {text}", file=sys.stderr, flush=True)


def _progress_line(record: dict) -> str:
    sides = ", ".join(f"{name} {s['median_ms']:.2f} ms" if "median_ms" in s
                      else f"{name} {s.get('error', '')}" if "error" in s
                      else f"{name} peak {s['peak_rss_mib']:.0f} MiB"
                      for name, s in record["sides"].items())
    ratio = record.get("ratio") or record.get("speedup")
    what = "speed-up" if "speedup" in record else "ratio"
    return (f"{record['label']} | {record['threads']} thr | {sides}"
            + (f" | {what} {ratio['median']:.2f}" if ratio else ""))


def _failed(workload, case, label, threads, exc) -> dict:
    """A record for a workload whose harness itself crashed (so the rest of the suite still runs)."""
    traceback.print_exc(file=sys.stderr)
    error = {"error": describe_error(exc)}
    return {"workload": workload, "case": case, "label": label, "threads": threads,
            "sides": {"initlab": error, "torch" if workload != "peer" else "peer": error},
            "ratio": None, "speedup": None, "target": None, "met": None, "check": ""}


def _jobs(only, torch_side, peak):
    """(workload, case, label, job(threads, settings)) for every timed job selected, in order."""
    for name in ("conv", "lenet", "deep", "peer"):
        if name not in only:
            continue
        if name == "conv":
            for case in workloads.CONV_CASES:
                yield name, case, workloads.conv_label(case), \
                    lambda n, s, c=case: workloads.run_conv(c, n, s, torch_side, peak)
        elif name == "peer":
            for case in workloads.CONV_CASES:
                yield name, case, workloads.conv_label(case), \
                    lambda n, s, c=case: workloads.run_peer(c, n, s)
        else:
            yield name, "", workloads.TRAINING[name][0], \
                lambda n, s, k=name: workloads.run_training(k, n, s, torch_side)


def run(args) -> dict:
    try:
        import torch
        from . import torch_side
    except ImportError as exc:
        raise SystemExit(f"bench: PyTorch is needed ({exc}); `make bench` installs the bench extra")
    settings = workloads.Settings.quick() if args.quick else workloads.Settings()
    progress = Progress()
    info = machine.describe(torch)
    progress(f"{info['cpu_model']}, {info['logical_cores']} cores, NumPy {info['numpy']} "
             f"({machine.blas_line(info)}), PyTorch {info['torch']}, load {info['load_average_at_start']}")
    records, peaks = [], {}

    def settings_now():
        late = time.perf_counter() - progress.start > REDUCE_AFTER_S
        return (workloads.Settings.quick() if late else settings), late

    def measured(job, *fallback):
        current, late = settings_now()
        with OtherLoad() as load:
            try:
                record = job(current)
            except Exception as exc:  # noqa: BLE001 -- a harness bug must not lose the other rows
                record = _failed(*fallback, exc)
        record["other_load_cores"] = load.cores
        record["reduced_repeats"] = late and not args.quick
        records.append(record)
        progress(_progress_line(record))

    for n in args.threads:
        with pinned_threads(n, torch):
            peaks[str(n)] = matmul_peak(repeats=3 if args.quick else 10)
            progress(f"float32 matmul 1024x1024 | {n} thr | best {peaks[str(n)]['best_gflops']:.1f} GFLOP/s")
            for name, case, label, job in _jobs(args.only, torch_side, peaks[str(n)]["best_gflops"]):
                measured(lambda s, job=job: job(n, s), name, case, label, n)
        if "memory" in args.only:
            measured(lambda s: memory.run_memory(n, s.memory_steps), "memory", "", "memory", n)
    order = {name: i for i, name in enumerate(WORKLOADS)}
    records.sort(key=lambda r: (order[r["workload"]], r["case"], r["threads"]))
    return {
        "suite": "initlab bench (issue 5)",
        "argv": sys.argv[1:],
        "quick": args.quick,
        "settings": dataclasses.asdict(settings),
        "machine": info,
        "matmul_peak": peaks,
        "records": records,
        "load_average_at_end": machine.load_average(),
        "duration_s": time.perf_counter() - progress.start,
    }


def main(argv=None):
    args = parse_args(argv)
    full = not args.quick and list(args.only) == list(WORKLOADS) and args.threads == FULL_THREADS
    # latest.json is the README's table, measured on the CPU's own kernels (`make bench`); a run
    # with OpenBLAS pinned to other kernels goes to partial.json unless --out says otherwise
    pinned = [name for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if name in os.environ]
    out = args.out or RESULTS / ("latest.json" if full and not pinned else "partial.json")
    if pinned and args.out is None:
        print(f"note: {', '.join(pinned)} set: OpenBLAS runs pinned kernels; results go to {out} "
              "(`make bench` unsets them for the README's table)")
    results = run(args)
    report.write_json(out, results)
    print(report.markdown(results))
    print(f"results: {out} ({results['duration_s']:.0f} s)")


if __name__ == "__main__":
    main()
