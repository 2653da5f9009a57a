"""Test-wide settings: one BLAS thread (the suite's matrices are tiny, and the 2 cores are
better spent on the tests than on contending BLAS threads); tests/ on the import path; a local
Dask cluster for the modules that ask for one."""
import sys
from pathlib import Path

import pytest
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True, scope="session")
def one_blas_thread():
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(scope="module")
def dask_cluster():
    """A local Dask cluster (tests/dask_cluster.py), one per test module that asks for it."""
    distributed = pytest.importorskip("distributed")
    from dask_cluster import local_cluster

    with local_cluster(distributed) as cluster:
        yield cluster
