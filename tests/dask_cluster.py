"""A local Dask cluster for the tests (2 worker processes on loopback, one BLAS thread each),
and a run during which a busy worker is killed: what the Dask tests share."""
import contextlib
import logging
import os
import signal
import threading
import time

ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@contextlib.contextmanager
def local_cluster(distributed):
    """Two single-threaded worker processes under nannies (a killed one is replaced)."""
    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                                       dashboard_address=None, env=ONE_THREAD, silence_logs=logging.CRITICAL)
    try:
        yield cluster
    finally:
        cluster.close()


def run_killing_a_busy_worker(client, run, timeout):
    """`run()` while a thread SIGKILLs the first worker seen with a task (a real crash: no
    goodbye to the scheduler) -> (run's result, {address, pid, at} of the kill, or {} if no
    worker was ever busy, the monotonic time run returned)."""
    pids = client.run(os.getpid)
    stop, killed = threading.Event(), {}

    def kill_a_busy_worker():
        deadline = time.monotonic() + timeout
        while not stop.is_set() and time.monotonic() < deadline:
            busy = [w for w, tasks in client.processing().items() if tasks and w in pids]
            if busy:
                os.kill(pids[busy[0]], signal.SIGKILL)
                killed.update(address=busy[0], pid=pids[busy[0]], at=time.monotonic())
                return
            time.sleep(0.01)

    killer = threading.Thread(target=kill_a_busy_worker, daemon=True)
    killer.start()
    try:
        result = run()
        finished = time.monotonic()
    finally:
        stop.set()
        killer.join(10)
    return result, killed, finished
