"""A task: one configuration of a study at one seed, and the randomness it may use (floor 6).

A task is plain data (the study's name, a JSON-able configuration, a seed), so it travels to
any worker process or machine, and its key names its result file. Its random streams are
derived with `numpy.random.SeedSequence` from a hash of (study, configuration, seed, stream),
never from the order tasks run in: the same bits whatever the order, the number of workers or
the machine.

`task.rng("init")` depends on the configuration: two configurations at one seed draw
different weights. `task.rng("data", shared=True)` leaves the configuration out: every
configuration at one seed sees the same batches in the same order (common random numbers),
so a paired comparison across configurations measures the configurations, not the shuffle.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import numpy as np


def canonical(config: dict) -> str:
    """The configuration as compact JSON with sorted keys: the same text for the same values."""
    return json.dumps(config, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _entropy(*parts) -> int:
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:16], "big")


@dataclass(frozen=True)
class Task:
    study: str
    config: dict = field(hash=False)
    seed: int = 0

    @property
    def key(self) -> str:
        """A file-safe name unique to (study, configuration, seed)."""
        return f"s{self.seed}-" + hashlib.sha256(f"{self.study}\x1f{canonical(self.config)}".encode()).hexdigest()[:16]

    def seed_sequence(self, stream: str = "init", *, shared: bool = False) -> np.random.SeedSequence:
        config = "" if shared else canonical(self.config)
        return np.random.SeedSequence(_entropy(self.study, config, self.seed, stream))

    def rng(self, stream: str = "init", *, shared: bool = False) -> np.random.Generator:
        """A generator for one named stream of this task (see the module docstring)."""
        return np.random.default_rng(self.seed_sequence(stream, shared=shared))

    def as_dict(self) -> dict:
        return {"study": self.study, "config": self.config, "seed": self.seed}


def grid(study: str, configs, seeds) -> list[Task]:
    """Every configuration at every seed, configurations outermost."""
    return [Task(study, dict(config), int(seed)) for config in configs for seed in seeds]
