"""A study's grid on a real Dask cluster (2 worker processes on loopback): the same results as
local processes, even when a worker is killed mid-grid."""
import logging
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from initlab.experiments import depth
from initlab.lab.runner import Executor
from initlab.lab.study import run_study, without_timing

distributed = pytest.importorskip(
    "distributed", reason="dask.distributed is not installed (it is the optional extra: pip install 'initlab[dask]')")
pytestmark = pytest.mark.dask

ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
OPTIONS = dict(depth.TINY, depths=(2, 3), steps=20, inits=("glorot", "he"), seeds=(0, 1))
TIMEOUT = 180


@pytest.fixture(scope="module")
def cluster():
    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                                       dashboard_address=None, env=ONE_THREAD, silence_logs=logging.CRITICAL)
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture(scope="module")
def local():
    return without_timing(run_study(depth, OPTIONS, executor=Executor(jobs=1)))


def on_cluster(cluster):
    def run():
        with Executor("dask", cluster.scheduler_address) as executor:
            return without_timing(run_study(depth, OPTIONS, executor=executor))
    with ThreadPoolExecutor(1) as pool:      # a hang fails instead of blocking
        return pool.submit(run).result(TIMEOUT)


def test_a_study_on_a_dask_cluster_equals_the_local_run(cluster, local):
    assert on_cluster(cluster) == local


def test_local_processes_equal_the_local_run(local):
    assert without_timing(run_study(depth, OPTIONS, executor=Executor(jobs=2))) == local


def test_a_worker_killed_mid_grid_loses_nothing(cluster, local):
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
                    killed.update(pid=pids[busy[0]], at=time.monotonic())
                    return
                time.sleep(0.01)

        killer = threading.Thread(target=kill_a_busy_worker, daemon=True)
        killer.start()
        try:
            result = on_cluster(cluster)
            finished = time.monotonic()
        finally:
            stop.set()
            killer.join(10)
        assert killed, "no worker was ever busy: the grid did not run on the cluster"
        assert killed["at"] < finished
        client.wait_for_workers(2, timeout=TIMEOUT)
    assert result == local
