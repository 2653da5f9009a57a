"""The cross-validation study on a real Dask cluster (2 worker processes on loopback): its
searches (one GridSearchCV per seed, each a task of the lab's runner) give the same results as
the local run, even when a worker is killed mid-search."""
import json
import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from dask_cluster import run_killing_a_busy_worker
from threadpoolctl import threadpool_limits

from initlab.experiments import cv
from initlab.lab.study import without_timing

distributed = pytest.importorskip(
    "distributed", reason="dask.distributed is not installed (it is the optional extra: pip install 'initlab[dask]')")
pytestmark = pytest.mark.dask

# clipped, so every fit finishes: a missing score can only mean a lost task
SEARCH = dict(grid={"init_scale": [1e-4, 0.1, 1.0]}, n=300, folds=3, epochs=4, seeds=(5, 6, 7), clip_grad_norm=5.0)
TIMEOUT = 120   # seconds: generous, the search takes a few


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


def test_workers_use_one_blas_thread(dask_cluster):
    from threadpoolctl import threadpool_info
    with distributed.Client(dask_cluster) as client:
        threads = client.run(lambda: sorted({pool["num_threads"] for pool in threadpool_info()}))
    assert len(threads) == 2 and all(t == [1] for t in threads.values()), threads


def test_dask_search_equals_the_local_search(dask_cluster, local_result):
    result = run_on(dask_cluster)
    assert result == local_result                        # every number, the claims too
    assert [s["seed"] for s in result["searches"]] == list(SEARCH["seeds"])
    assert None not in [v for c in scores(result) for fold in c for v in fold]


def test_a_worker_killed_mid_search_loses_nothing(dask_cluster, local_result):
    with distributed.Client(dask_cluster) as client:
        client.wait_for_workers(2, timeout=TIMEOUT)
        result, killed, finished = run_killing_a_busy_worker(client, lambda: run_on(dask_cluster), TIMEOUT)
        assert killed, "no worker was ever busy: the search did not run on the cluster"
        assert killed["at"] < finished                       # it died while the search was running
        client.wait_for_workers(2, timeout=TIMEOUT)          # the nanny started a replacement
        assert killed["pid"] not in client.run(os.getpid).values()
    assert all(c["failed"] == 0 for c in result["candidates"])
    assert scores(result) == scores(local_result)


def test_the_cv_command_runs_through_the_cluster(dask_cluster, tmp_path):
    from initlab.cli import main
    out = tmp_path / "cv"
    argv = ["cv", "--tiny", "--n", "120", "--folds", "2", "--epochs", "1", "--param", "init_scale=1e-4,0.1"]
    assert main(argv + ["--backend", "dask", "--scheduler", dask_cluster.scheduler_address, "--out", str(out)]) == 0
    result = json.loads((out / "result.json").read_text())
    assert len(result["candidates"]) == 2 and len(result["searches"]) == len(cv.TINY["seeds"])
    local = tmp_path / "local"
    assert main(argv + ["--jobs", "1", "--out", str(local)]) == 0
    assert json.loads((local / "result.json").read_text()) == result
    assert (out / "cv_results.csv").exists() and (out / "cv_accuracy_vs_std.png").exists()
