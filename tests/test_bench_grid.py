"""bench.grid: a study's grid timed on local processes and on a Dask LocalCluster gives the same results."""
import pytest

pytest.importorskip("dask.distributed")
pytestmark = pytest.mark.dask

from bench import grid  # noqa: E402


def test_grid_local_and_dask_agree(capsys):
    rows = grid.main(["conv", "--demo", "--workers", "1"])
    assert rows["dask"]["same_results"] is True
    assert rows["local"]["tasks"] == rows["dask"]["tasks"] > 0
    assert rows["local"]["task_cpu_s"] > 0 and rows["local"]["wall_s"] > 0
    assert capsys.readouterr().out.count("\n") == 2
