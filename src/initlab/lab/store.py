"""Finished tasks on disk (floor 6): one JSON file per task, written atomically as it finishes.

Layout under a run's output folder:

    tasks/<study>/<task key>.json     {"study", "config", "seed", "result"}

A study started again with the same options finds its finished tasks here and runs only the
missing ones; a run with more seeds reuses the seeds it shares. A file that cannot be read
(a kill can only leave a whole file or none, but a disk can still lie) is run again.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .. import atomic
from ..errors import InvalidValueError


def to_jsonable(value):
    """NumPy arrays and scalars -> lists and Python numbers, non-finite floats -> "inf",
    "-inf" or None (NaN), recursively (for results.json)."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    if isinstance(value, float) and not np.isfinite(value):
        return None if np.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def plain(value):
    """What a task's result is after a trip through its JSON file (`to_jsonable`, then JSON's
    own types), so that a fresh and a reused result are the same data."""
    return json.loads(json.dumps(to_jsonable(value)))


class TaskStore:
    """The finished tasks of one study under `root` (the run's output folder)."""

    def __init__(self, root, study: str):
        self.folder = Path(root) / "tasks" / study
        self.study = study

    def check_holds_only(self, studies):
        """Refuse an output folder that holds tasks of studies other than `studies`."""
        tasks = self.folder.parent
        if not tasks.is_dir():
            return
        others = sorted(p.name for p in tasks.iterdir() if p.is_dir() and p.name not in studies)
        if others:
            raise InvalidValueError(f"--out: {tasks.parent} holds the tasks of another study ({', '.join(others)}); "
                                    "choose another folder, or remove it first")

    def path(self, task) -> Path:
        return self.folder / f"{task.key}.json"

    def load(self, task):
        """The stored result of `task`, or None when it has not finished (or cannot be read)."""
        try:
            record = json.loads(self.path(task).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(record, dict) or record.get("config") != task.config or record.get("seed") != task.seed:
            return None
        return record.get("result")

    def save(self, task, result):
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic.write_text(self.path(task), json.dumps({**task.as_dict(), "result": result}))
