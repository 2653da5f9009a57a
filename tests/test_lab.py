"""The lab's machinery: exact tests, verdicts (and that each rule can fail), task seeds, the
task store and the local runner (same bits for any worker count, nothing recomputed)."""
import json
import math

import numpy as np
import pytest

from initlab.errors import InvalidValueError
from initlab.lab import stats, verdicts
from initlab.lab.claims import Claim, decide, tally
from initlab.lab.runner import Executor, check_backend
from initlab.lab.store import TaskStore
from initlab.lab.tasks import Task, grid


# --------------------------------------------------------------------------- stats

def test_sign_test_is_the_binomial_tail():
    assert stats.sign_test(8, 8) == 1 / 256
    assert stats.sign_test(7, 8) == pytest.approx(9 / 256)
    assert stats.sign_test(0, 8) == 1.0 and stats.sign_test(0, 0) == 1.0
    assert stats.smallest_p(4) == 1 / 16 > 0.05 > stats.smallest_p(5)


def test_permutation_test_enumerates_every_sign_flip():
    assert stats.permutation_test([1.0, 2.0, 3.0]) == 1 / 8          # only the observed signs reach 6
    assert stats.permutation_test([1.0, -1.0]) == pytest.approx(3 / 4)  # sums 0, 2, -2, 0: three >= 0
    assert stats.permutation_test([]) == 1.0
    big = stats.permutation_test(np.ones(20))                          # Monte Carlo beyond 16 pairs
    assert 0 < big < 1e-4


def test_bootstrap_interval_is_reproducible_and_brackets_the_median():
    values = np.arange(10.0)
    low, high = stats.bootstrap_interval(values)
    assert (low, high) == stats.bootstrap_interval(values) and low <= np.median(values) <= high
    assert stats.bootstrap_interval([3.0]) == (3.0, 3.0)


# --------------------------------------------------------------------------- verdicts

def test_paired_holds_fails_and_is_inconclusive():
    a, b = list(range(8)), [v + 1 for v in range(8)]
    assert verdicts.paired(a, b).verdict == "holds"
    swapped = verdicts.paired(b, a)
    assert swapped.verdict == "fails" and "opposite" in swapped.why and swapped.k == 0
    mixed = verdicts.paired([1, 2, 1, 2, 1, 2, 1, 2], [2, 1, 2, 1, 2, 1, 2, 1])
    assert mixed.verdict == "inconclusive" and "not significant" in mixed.why
    few = verdicts.paired([1, 1, 1], [2, 2, 2])
    assert few.verdict == "inconclusive" and "more seeds" in few.why and few.k == 3 and few.n == 3
    tied = verdicts.paired([1] * 8, [1] * 8)
    assert tied.verdict == "inconclusive" and tied.p is None


def test_paired_treats_censored_runs_as_beyond_the_budget():
    he, glorot = [10, 12, 9, 11, 10, 13, 12, 10], [None] * 8
    v = verdicts.paired(he, glorot, budget=100)
    assert v.verdict == "holds" and v.lower_bound and v.effect >= 101 / 13
    both = verdicts.paired([None] * 8, [None] * 8, budget=100)
    assert both.verdict == "inconclusive" and both.n == 8 and both.k == 0
    with pytest.raises(ValueError, match="permutation"):
        verdicts.paired(he, glorot, budget=100, test="permutation")


def test_paired_orders_intervals_only_when_they_do_not_overlap():
    assert verdicts._order((1, 2), (3, math.inf), None) == -1
    assert verdicts._order((1, 4), (3, math.inf), None) == 0
    assert verdicts._order(5, (1, 2), None) == 1


def test_every_needs_every_seed():
    assert verdicts.every([True] * 8).verdict == "holds"
    broken = verdicts.every([True] * 7 + [False], what="identity")
    assert broken.verdict == "fails" and broken.k == 7 and "1 of 8" in broken.why


def test_within_is_an_equivalence_test():
    rng = np.random.default_rng(0)
    close = np.exp(rng.normal(0, 0.05, 8))
    assert verdicts.within(close, np.ones(8), 1.25).verdict == "holds"
    assert verdicts.within(close * 3, np.ones(8), 1.25).verdict == "fails"
    spread = np.exp(rng.normal(0.2, 0.5, 8))
    assert verdicts.within(spread, np.ones(8), 1.25).verdict == "inconclusive"
    assert verdicts.within([1.0, -1.0], [1.0, 1.0], 2).verdict == "fails"


def test_a_claim_is_data_and_illustrations_do_not_count():
    claims = [Claim("a", en="A at {d}", ja="A {d}", rule=lambda r: verdicts.every(r["ok"]), words=lambda r: {"d": 3}),
              Claim("b", en="B", ja="B", rule=lambda r: verdicts.illustration(1.0)),
              Claim("c", en="C", ja="C", rule=lambda r: verdicts.every([]), applies=lambda r: False)]
    records = decide(claims, {"ok": [True, True]})
    assert [r["id"] for r in records] == ["a", "b"]
    assert records[0]["claim"] == "A at 3" and records[0]["holds"] and records[0]["evidence"]
    assert records[1]["verdict"] == "illustration" and not records[1]["evidence"] and not records[1]["holds"]
    assert tally(records)["holds"] == 1
    json.dumps(records)


# --------------------------------------------------------------------------- tasks

def test_task_streams_depend_on_study_configuration_and_seed_only():
    a, b = Task("s", {"x": 1, "y": 2}, 3), Task("s", {"y": 2, "x": 1}, 3)
    assert a.key == b.key and a.rng().random() == b.rng().random()
    other = Task("s", {"x": 2, "y": 2}, 3)
    assert other.rng().random() != a.rng().random()
    assert other.rng("data", shared=True).random() == a.rng("data", shared=True).random()   # common batches
    assert Task("t", {"x": 1, "y": 2}, 3).rng().random() != a.rng().random()
    assert Task("s", {"x": 1, "y": 2}, 4).key != a.key
    assert [t.seed for t in grid("s", [{"x": 1}, {"x": 2}], (0, 1))] == [0, 1, 0, 1]


def _square(task):
    """A module-level task function (workers import it by name)."""
    return {"value": task.config["x"] ** 2 + task.rng().random(), "array": np.arange(3), "inf": math.inf}


def test_the_local_runner_gives_the_same_results_for_any_worker_count():
    tasks = grid("square", [{"x": x} for x in range(5)], (0, 1))
    with Executor(jobs=1) as one, Executor(jobs=2) as two:
        first, second = one.run(_square, tasks), two.run(_square, tasks)
    assert first == second and len(first) == 10
    assert first[tasks[0].key]["array"] == [0, 1, 2] and first[tasks[0].key]["inf"] == "inf"


def test_the_store_keeps_finished_tasks_and_runs_only_the_missing(tmp_path):
    tasks = grid("square", [{"x": x} for x in range(3)], (0, 1))
    store = TaskStore(tmp_path, "square")
    calls = []

    def progress(done, total, status):
        calls.append((done, total))

    with Executor(jobs=1) as executor:
        first = executor.run(_square, tasks[:4], store=store)
        assert len(list(store.folder.glob("*.json"))) == 4
        stamp = {p: p.stat().st_mtime_ns for p in store.folder.glob("*.json")}
        again = executor.run(_square, tasks, store=store, progress=progress)
    assert {k: again[k] for k in first} == first
    assert calls[0] == (4, 6) and calls[-1] == (6, 6)            # 4 reused, 2 run
    assert all(p.stat().st_mtime_ns == t for p, t in stamp.items())
    store.path(tasks[0]).write_text("{not json")                  # an unreadable file is run again
    assert store.load(tasks[0]) is None


def test_a_folder_with_another_studys_tasks_is_refused(tmp_path):
    TaskStore(tmp_path, "depth").save(Task("depth", {}, 0), {})
    with pytest.raises(InvalidValueError, match="--out: .* another study .*depth"):
        TaskStore(tmp_path, "symmetry").check_holds_only(["symmetry"])
    TaskStore(tmp_path, "depth").check_holds_only(["depth"])


@pytest.mark.parametrize("options, message", [
    (dict(jobs=0), "--jobs"), (dict(jobs=1000), "--jobs"), (dict(jobs=1.5), "--jobs"),
    (dict(backend="spark"), "--backend"), (dict(backend="dask"), "--scheduler"),
    (dict(scheduler="tcp://127.0.0.1:1"), "--scheduler")])
def test_bad_runner_options_are_named(options, message):
    with pytest.raises(InvalidValueError, match=message):
        check_backend(**options)


def test_an_unreachable_scheduler_is_one_line_naming_the_option():
    pytest.importorskip("distributed")
    with pytest.raises(InvalidValueError, match="--scheduler: cannot reach"):
        with Executor("dask", "tcp://127.0.0.1:9", None):
            pass
