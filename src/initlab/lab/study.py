"""Running a study: options -> grid of tasks -> results -> summary -> claims (floor 6).

A study module (under `initlab.experiments`) provides:

* `NAME`, and `TINY` / `DEMO`: keyword presets (test scale, demo scale);
* `check_options(**options) -> dict`: every option checked and completed with its default
  (a bad value is an InvalidValueError naming the option's keyword);
* `tasks(options) -> list[Task]`: the grid, configuration x seed (`lab.tasks.grid`);
* `run_task(task) -> dict`: one run, a pure function of the task returning plain data;
* `summarize(options, tasks, results) -> dict`: measurements from the per-task results (in
  task order), never verdicts;
* optionally `followup(options, tasks, results) -> list[Task]`: a second grid chosen from the
  first one's results (e.g. the learning rate a sweep picked, run at every seed); its tasks
  are stored and reused like the first's, and summarize sees both grids.

Its claims live in `initlab.claims.<NAME>` (`CLAIMS`, a list of `lab.claims.Claim`).
`run_study` returns the summary with "claims" (the decided records) and "timing" (wall-clock
seconds, task counts: the only part that differs between two runs of the same options;
`without_timing` removes it for results.json).
"""
from __future__ import annotations

import importlib
import sys
import time

from ..constraints import Integer, SequenceOf
from .claims import decide
from .runner import Executor
from .store import TaskStore


# the constraint every study's `seeds` option keeps: at least one seed, each an int >= 0
SEEDS = SequenceOf(Integer(0), item_name="seed", what="seed")


def catalogue(study) -> list:
    """The study's claims: `initlab.claims.<NAME>.CLAIMS` ([] when it has none)."""
    try:
        module = importlib.import_module(f"initlab.claims.{study.NAME}")
    except ModuleNotFoundError:
        return []
    return list(module.CLAIMS)


def run_study(study, options: dict | None = None, *, executor: Executor | None = None, out=None,
              progress=None) -> dict:
    """Run `study` (a module, see above) with `options`; finished tasks are stored under
    `out` (when given) and reused by a later run with the same options."""
    start = time.perf_counter()
    options = study.check_options(**(options or {}))
    tasks = study.tasks(options)
    store = TaskStore(out, study.NAME) if out is not None else None
    executor = executor or Executor(jobs=1)
    reused = sum(store.load(t) is not None for t in tasks) if store is not None else 0
    cpu_before = executor.cpu_seconds
    with executor if executor.client is None and executor.backend == "dask" else _Same(executor) as running:
        results = running.run(study.run_task, tasks, store=store, progress=progress)
        if hasattr(study, "followup"):
            more = study.followup(options, tasks, [results[t.key] for t in tasks])
            reused += sum(store.load(t) is not None for t in more) if store is not None else 0
            results.update(running.run(study.run_task, more, store=store, progress=progress))
            tasks = tasks + more
    result = study.summarize(options, tasks, [results[t.key] for t in tasks])
    result["claims"] = decide(catalogue(study), result)
    result["timing"] = {"seconds": time.perf_counter() - start, "tasks": len(tasks), "reused": reused,
                        "task_cpu_seconds": executor.cpu_seconds - cpu_before}
    return result


def study_runner(module_name: str):
    """A study module's `run(progress=None, **options) -> dict`: the whole study in this process
    (one worker), `run_study` on the module named `module_name`."""
    def run(progress=None, **options) -> dict:
        return run_study(sys.modules[module_name], options, progress=progress)
    run.__doc__ = f"The whole {module_name.rsplit('.', 1)[-1]} study in this process (one worker): see `run_study`."
    return run


class _Same:
    """An executor that is already entered (or needs no entering), used as-is."""

    def __init__(self, executor):
        self.executor = executor

    def __enter__(self):
        return self.executor

    def __exit__(self, *exc):
        return None


def without_timing(value):
    """`value` with every "timing" entry removed, recursively: what is the same bits for the
    same options and seeds, whatever ran it."""
    if isinstance(value, dict):
        return {k: without_timing(v) for k, v in value.items() if k != "timing"}
    if isinstance(value, list):
        return [without_timing(v) for v in value]
    return value


def timings(value, path=()) -> dict:
    """{"<path>": timing} for every "timing" entry in `value` (for timings.json)."""
    found = {}
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "timing":
                found["/".join(path) or "."] = v
            else:
                found.update(timings(v, path + (str(k),)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found.update(timings(v, path + (str(i),)))
    return found
