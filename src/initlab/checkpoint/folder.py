"""A run's folder of step checkpoints and its best one."""
from __future__ import annotations

import re
from pathlib import Path

from ..errors import CheckpointError, InvalidValueError
from .save_load import save


class CheckpointDir:
    """A folder of step checkpoints "step-<8 digits>.safetensors" (the last `keep` are kept)
    and "best.safetensors" (the highest validation accuracy so far).

    One folder holds one run: the step numbers of two runs would interleave, so that pruning
    and `latest()` would mix them. `holds_checkpoints()` lets a caller refuse a used folder and
    `clear()` empties it for a fresh run."""

    PATTERN = re.compile(r"step-(\d{8,})\.safetensors")
    BEST = "best.safetensors"

    def __init__(self, folder, keep: int | None = None):
        self.folder = Path(folder)
        if keep is not None and (not isinstance(keep, int) or keep < 1):
            raise InvalidValueError(f"keep: expected an integer >= 1 (or None for all), got {keep!r}")
        self.keep = keep

    def steps(self) -> list[tuple[int, Path]]:
        """(step, path) of every step checkpoint, oldest first."""
        if not self.folder.is_dir():
            return []
        found = [(int(m[1]), p) for p in self.folder.iterdir() if (m := self.PATTERN.fullmatch(p.name))]
        return sorted(found)

    def checkpoints(self) -> list[Path]:
        """Every checkpoint this folder holds: the step checkpoints, then best (if any)."""
        best = self.folder / self.BEST
        return [p for _, p in self.steps()] + ([best] if best.is_file() else [])

    def holds_checkpoints(self) -> bool:
        return bool(self.checkpoints())

    def clear(self) -> list[Path]:
        """Delete the step checkpoints and best (nothing else in the folder); returns them."""
        found = self.checkpoints()
        for path in found:
            path.unlink(missing_ok=True)
        return found

    def latest(self) -> Path:
        """The newest step checkpoint; CheckpointError if there is none."""
        found = self.steps()
        if not found:
            if self.folder.is_file():
                what = ("is a file, expected the folder that holds the step-*.safetensors "
                        f"checkpoints (here {str(self.folder.parent)!r}?)")
            elif not self.folder.exists():
                what = "does not exist"
            else:
                what = "holds no step-*.safetensors checkpoint"
            raise CheckpointError(f"checkpoint folder {str(self.folder)!r} {what}")
        return found[-1][1]

    def save(self, step: int, model, optimizer=None, /, **state) -> Path:
        """Write the checkpoint of `step`, then drop the oldest beyond `keep`; the checkpoint
        just written is always kept, even if the folder holds higher-numbered ones."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = save(self.folder / f"step-{step:08d}.safetensors", model, optimizer, **state)
        if self.keep is not None:
            others = [old for _, old in self.steps() if old != path]
            for old in others[:max(len(others) - (self.keep - 1), 0)]:
                old.unlink(missing_ok=True)
        return path

    def save_best(self, model, optimizer=None, /, **state) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        return save(self.folder / self.BEST, model, optimizer, **state)
