"""A study's grid on a real Dask cluster (2 worker processes on loopback): the same results as
local processes, even when a worker is killed mid-grid."""
from concurrent.futures import ThreadPoolExecutor

import pytest
from dask_cluster import run_killing_a_busy_worker

from initlab.experiments import depth
from initlab.lab.runner import Executor
from initlab.lab.study import run_study, without_timing

distributed = pytest.importorskip(
    "distributed", reason="dask.distributed is not installed (it is the optional extra: pip install 'initlab[dask]')")
pytestmark = pytest.mark.dask

OPTIONS = dict(depth.TINY, depths=(2, 3), steps=20, inits=("glorot", "he"), seeds=(0, 1))
TIMEOUT = 180


@pytest.fixture(scope="module")
def local():
    return without_timing(run_study(depth, OPTIONS, executor=Executor(jobs=1)))


def on_cluster(cluster):
    def run():
        with Executor("dask", cluster.scheduler_address) as executor:
            return without_timing(run_study(depth, OPTIONS, executor=executor))
    with ThreadPoolExecutor(1) as pool:      # a hang fails instead of blocking
        return pool.submit(run).result(TIMEOUT)


def test_a_study_on_a_dask_cluster_equals_the_local_run(dask_cluster, local):
    assert on_cluster(dask_cluster) == local


def test_local_processes_equal_the_local_run(local):
    assert without_timing(run_study(depth, OPTIONS, executor=Executor(jobs=2))) == local


def test_a_worker_killed_mid_grid_loses_nothing(dask_cluster, local):
    with distributed.Client(dask_cluster) as client:
        client.wait_for_workers(2, timeout=TIMEOUT)
        result, killed, finished = run_killing_a_busy_worker(client, lambda: on_cluster(dask_cluster), TIMEOUT)
        assert killed, "no worker was ever busy: the grid did not run on the cluster"
        assert killed["at"] < finished
        client.wait_for_workers(2, timeout=TIMEOUT)
    assert result == local
