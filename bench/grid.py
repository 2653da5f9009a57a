"""Time a study's full grid on local processes and on a Dask LocalCluster of the same size.

    python -m bench.grid phase --workers 2

Runs `initlab.experiments.<study>` at its full (default) options (`--demo`: its demo ones)
twice, with nothing reused:
once on `--workers` local processes (the lab's loky Executor) and once on a
`dask.distributed.LocalCluster` of `--workers` single-threaded workers (needs the `dask`
extra). Prints, for each: wall seconds, the tasks' summed CPU seconds, their ratio (the
parallel speed-up actually reached) and whether both runs gave the same results.
"""
import argparse
import importlib
import json
import sys
import time

from initlab.lab.runner import Executor
from initlab.lab.store import to_jsonable
from initlab.lab.study import run_study, without_timing


def timed(study, options, executor) -> tuple[dict, dict]:
    start = time.perf_counter()
    result = run_study(study, options, executor=executor)
    wall = time.perf_counter() - start
    timing = result["timing"]
    return json.dumps(to_jsonable(without_timing(result)), sort_keys=True), {
        "wall_s": round(wall, 1), "tasks": timing["tasks"],
        "task_cpu_s": round(timing["task_cpu_seconds"], 1),
        "speedup": round(timing["task_cpu_seconds"] / wall, 2)}


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.grid", description=__doc__.splitlines()[0])
    p.add_argument("study", help="a study module name, e.g. phase")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--demo", action="store_true", help="the study's demo-scale options instead of its full ones")
    p.add_argument("--skip-dask", action="store_true")
    args = p.parse_args(argv)
    study = importlib.import_module(f"initlab.experiments.{args.study}")
    options = dict(study.DEMO) if args.demo else {}
    local, rows = timed(study, options, Executor("local", None, args.workers))
    rows = {"local": rows}
    print(json.dumps({"backend": "local", **rows["local"]}), flush=True)
    if not args.skip_dask:
        from dask.distributed import LocalCluster
        with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True) as cluster:
            dask, rows["dask"] = timed(study, options, Executor("dask", cluster.scheduler_address, args.workers))
        rows["dask"]["same_results"] = dask == local
        print(json.dumps({"backend": "dask", **rows["dask"]}), flush=True)
    return rows


if __name__ == "__main__":
    sys.exit(main() and 0)
