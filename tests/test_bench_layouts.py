"""`python -m bench.layouts` times both convolution layouts and reports initlab's own pick."""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # bench/ lives beside src/

from bench import layouts  # noqa: E402


def test_compare_times_both_layouts_and_names_the_pick():
    rng = np.random.default_rng(0)
    wide = layouts.compare((2, 16, 16, 6, 3, 1), rounds=1, rng=rng)
    narrow = layouts.compare((2, 3, 8, 6, 3, 1), rounds=1, rng=rng)
    assert wide["chosen"] == "channels-last" and narrow["chosen"] == "batch-last"
    for row in (wide, narrow):
        assert row["batch_last_ms"] > 0 and row["channels_last_ms"] > 0 and row["ratio"] > 0


def test_the_table_lists_every_shape(capsys, monkeypatch):
    monkeypatch.setattr(layouts, "SHAPES", [(2, 16, 8, 5, 3, 1), (2, 1, 4, 6, 3, 0)])
    layouts.main(["--rounds", "1"])
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| 2,")]
    assert len(rows) == 2 and "channels-last" in rows[0] and "batch-last" in rows[1]
