"""One runner for every study's grid (floor 6): local processes or a Dask cluster.

`run_tasks(fn, tasks, store=..., jobs=..., backend=..., scheduler=..., progress=...)` calls
`fn(task)` for every task whose result is not in the store yet, writes each result to the
store as soon as it arrives, and returns {task key: result} for all of them. `fn` must be a
module-level function (workers import it by name) returning plain data.

* backend "local": joblib's process pool with `jobs` workers (default: every core); jobs=1
  runs in this process. Each task runs with one BLAS thread, in every backend, so a result
  is the same bits wherever it ran.
* backend "dask": `dask.distributed.Client(scheduler)`; a worker that dies mid-task costs
  nothing (the scheduler runs its tasks elsewhere), and results equal a local run's.

Results pass through JSON (`store.plain`) whether fresh or reused, so a resumed study
computes from exactly what an uninterrupted one would.
"""
from __future__ import annotations

import os
import time

from threadpoolctl import threadpool_limits

from ..errors import InvalidValueError
from .store import plain

BACKENDS = ("local", "dask")
CONNECT_TIMEOUT = "10s"
MAX_JOBS = 256


def default_jobs() -> int:
    """Every core this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:      # not on Linux
        return os.cpu_count() or 1


def check_backend(backend="local", scheduler=None, jobs=None):
    """Refuse a bad combination before any work: returns (backend, scheduler, jobs)."""
    if backend not in BACKENDS:
        raise InvalidValueError(f"--backend: expected one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend == "dask" and not scheduler:
        raise InvalidValueError("--scheduler: backend 'dask' needs a scheduler address, e.g. tcp://HOST:8786")
    if backend == "local" and scheduler:
        raise InvalidValueError("--scheduler: a scheduler address is only used with --backend dask")
    if jobs is not None:
        if isinstance(jobs, bool) or not isinstance(jobs, int) or not 1 <= jobs <= MAX_JOBS:
            raise InvalidValueError(f"--jobs: expected a whole number of worker processes from 1 to {MAX_JOBS}, "
                                    f"got {jobs!r}")
    return backend, scheduler, jobs


def call_one_thread(fn, task):
    """fn(task) with one BLAS thread, as plain JSON data: what every backend runs. Returns
    (key, result, CPU seconds the task took in its process)."""
    start = time.process_time()
    with threadpool_limits(limits=1, user_api="blas"):
        result = plain(fn(task))
    return task.key, result, time.process_time() - start


class Executor:
    """Where tasks run: `with Executor("local", jobs=2) as ex: ex.run(fn, tasks, ...)`.

    Checks its options when made and, for Dask, connects on entering, so a bad --jobs or an
    unreachable scheduler is a one-line error before any work; one executor can run the
    grids of several studies (the demo's)."""

    def __init__(self, backend="local", scheduler=None, jobs=None):
        self.backend, self.scheduler, self.jobs = check_backend(backend, scheduler, jobs)
        self.client = None
        self.cpu_seconds = 0.0      # summed over the tasks this executor computed (for timing.json)

    def __enter__(self):
        if self.backend == "dask":
            self.client = connect(self.scheduler)
        return self

    def __exit__(self, *exc):
        if self.client is not None:
            self.client.close()
            self.client = None

    def run(self, fn, tasks, *, store=None, progress=None) -> dict:
        """{task key: result} for every task (see the module docstring). `progress(done,
        total, status)` is called once before any task and after each one finishes."""
        results, missing = {}, []
        for task in tasks:
            stored = store.load(task) if store is not None else None
            if stored is None:
                missing.append(task)
            else:
                results[task.key] = stored
        total = len(tasks)
        if progress:
            progress(len(results), total, f"{len(results)} reused" if results else "")
        by_key = {task.key: task for task in missing}

        def finished(key, result, cpu_seconds):
            self.cpu_seconds += cpu_seconds
            results[key] = result
            if store is not None:
                store.save(by_key[key], result)
            if progress:
                progress(len(results), total, f"seed {by_key[key].seed} done")

        jobs = self.jobs or default_jobs()
        if not missing:
            pass
        elif self.client is not None:
            _run_dask(self.client, fn, missing, finished)
        elif jobs == 1 or len(missing) == 1:
            for task in missing:
                finished(*call_one_thread(fn, task))
        else:
            _run_local(fn, missing, jobs, finished)
        return results


def run_tasks(fn, tasks, *, store=None, jobs=None, backend="local", scheduler=None, progress=None) -> dict:
    """One grid on a fresh `Executor`: {task key: result} for every task."""
    with Executor(backend, scheduler, jobs) as executor:
        return executor.run(fn, tasks, store=store, progress=progress)


def _run_local(fn, tasks, jobs, finished):
    from joblib import Parallel, delayed
    parallel = Parallel(n_jobs=min(jobs, len(tasks)), backend="loky", return_as="generator_unordered")
    for outcome in parallel(delayed(call_one_thread)(fn, task) for task in tasks):
        finished(*outcome)


def connect(scheduler):
    """A dask.distributed Client, or a one-line error naming --scheduler."""
    try:
        from distributed import Client
    except ImportError:
        raise InvalidValueError("--backend dask needs dask.distributed: pip install 'initlab[dask]'") from None
    try:
        return Client(scheduler, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        raise InvalidValueError(f"--scheduler: cannot reach a Dask scheduler at {scheduler!r} ({exc})") from None


def _run_dask(client, fn, tasks, finished):
    from distributed import as_completed
    futures = [client.submit(call_one_thread, fn, task, key=f"initlab-{task.study}-{task.key}", pure=False)
               for task in tasks]
    for future in as_completed(futures):
        finished(*future.result())
