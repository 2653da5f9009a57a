"""The cross-validation study on a real Dask cluster (2 worker processes on loopback): its
searches (one GridSearchCV per seed, each a task of the lab's runner) give the same results as
the local run, even when a worker is killed mid-search."""
import json
import logging
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from threadpoolctl import threadpool_limits

from initlab.experiments import cv
from initlab.lab.study import without_timing

distributed = pytest.importorskip(
    "distributed", reason="dask.distributed is not installed (it is the optional extra: pip install 'initlab[dask]')")
pytestmark = pytest.mark.dask

ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
# clipped, so every fit finishes: a missing score can only mean a lost task
SEARCH = dict(grid={"init_scale": [1e-4, 0.1, 1.0]}, n=300, folds=3, epochs=4, seeds=(5, 6, 7), clip_grad_norm=5.0)
TIMEOUT = 120   # seconds: generous, the search takes a few


@pytest.fixture(scope="module")
def cluster():
    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                                       dashboard_address=None, env=ONE_THREAD, silence_logs=logging.CRITICAL)
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture(scope="module")
def local_result():
    with threadpool_limits(1):   # as on the workers, so the floating point is the same
        return without_timing(cv.run(**SEARCH))


def scores(result):
    return [c["splits"] for c in result["candidates"]]


def run_on(cluster):
    """The searches through the cluster, in a thread so that a hang fails instead of blocking."""
    with ThreadPoolExecutor(1) as pool:
        return without_timing(pool.submit(cv.run, backend="dask", scheduler=cluster.scheduler_address,
                                          **SEARCH).result(TIMEOUT))


def test_workers_use_one_blas_thread(cluster):
    from threadpoolctl import threadpool_info
    with distributed.Client(cluster) as client:
        threads = client.run(lambda: sorted({pool["num_threads"] for pool in threadpool_info()}))
    assert len(threads) == 2 and all(t == [1] for t in threads.values()), threads


def test_dask_search_equals_the_local_search(cluster, local_result):
    result = run_on(cluster)
    assert result == local_result                        # every number, the claims too
    assert [s["seed"] for s in result["searches"]] == list(SEARCH["seeds"])
    assert None not in [v for c in scores(result) for fold in c for v in fold]


def test_a_worker_killed_mid_search_loses_nothing(cluster, local_result):
    killed = {}
    with distributed.Client(cluster) as client:
        client.wait_for_workers(2, timeout=TIMEOUT)
        pids = client.run(os.getpid)
        stop = threading.Event()

        def kill_a_busy_worker():
            deadline = time.monotonic() + TIMEOUT
            while not stop.is_set() and time.monotonic() < deadline:
                busy = [w for w, tasks in client.processing().items() if tasks and w in pids]
                if busy:
                    os.kill(pids[busy[0]], signal.SIGKILL)   # a real crash: no goodbye to the scheduler
                    killed.update(address=busy[0], pid=pids[busy[0]], at=time.monotonic())
                    return
                time.sleep(0.01)

        killer = threading.Thread(target=kill_a_busy_worker, daemon=True)
        killer.start()
        try:
            result = run_on(cluster)
            finished = time.monotonic()
        finally:
            stop.set()
            killer.join(10)
        assert killed, "no worker was ever busy: the search did not run on the cluster"
        assert killed["at"] < finished                       # it died while the search was running
        client.wait_for_workers(2, timeout=TIMEOUT)          # the nanny started a replacement
        assert killed["pid"] not in client.run(os.getpid).values()
    assert all(c["failed"] == 0 for c in result["candidates"])
    assert scores(result) == scores(local_result)


def test_the_cv_command_runs_through_the_cluster(cluster, tmp_path):
    from initlab.cli import main
    out = tmp_path / "cv"
    argv = ["cv", "--tiny", "--n", "120", "--folds", "2", "--epochs", "1", "--param", "init_scale=1e-4,0.1"]
    assert main(argv + ["--backend", "dask", "--scheduler", cluster.scheduler_address, "--out", str(out)]) == 0
    result = json.loads((out / "result.json").read_text())
    assert len(result["candidates"]) == 2 and len(result["searches"]) == len(cv.TINY["seeds"])
    local = tmp_path / "local"
    assert main(argv + ["--jobs", "1", "--out", str(local)]) == 0
    assert json.loads((local / "result.json").read_text()) == result
    assert (out / "cv_results.csv").exists() and (out / "cv_accuracy_vs_std.png").exists()
