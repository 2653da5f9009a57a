"""A training run's checkpoint folder: which folder a run may write to, and one run per folder.

Floor 4 (beside checkpoint). The rules, in one place:

* fresh: a run that does not continue the checkpoints in its folder refuses a folder that holds
  some (their step numbers would outrank its own: pruning would delete the new ones and
  --resume would pick the old run); `force` deletes them, but only once the new run has
  written a checkpoint of its own (a forced run that fails at once leaves them as they were);
* resume: the run continues from the newest step checkpoint of the `resume` folder and writes
  into `checkpoint_dir`, or into the resumed folder when none is given;
* save: the trained model's file is never one of the run's own checkpoints, nor its folder;
* Ctrl-C without a folder: the checkpoint goes to a new folder of its own under
  ./initlab-checkpoints (run-<date>-<time>, -2, -3, ... when taken);
* one run per folder: a run holds an exclusive OS lock (`fcntl.flock` on the folder, released
  by the OS when the process dies, so a killed run leaves no stale lock) for as long as it
  runs; a second run, or a resume while the first is alive, is refused naming the holder's
  PID and start time. The next run that takes the lock removes the temp files a killed run
  left behind.

Errors name the command-line options of `initlab train` (--checkpoint-dir, --resume, --save,
--force), the names a user of this class gave too.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path

from . import checkpoint
from .errors import CheckpointError, InvalidValueError

try:
    import fcntl
except ImportError:          # Windows: no flock; one run per folder is then the user's care
    fcntl = None

__all__ = ["RunFolder", "FolderLock", "Checkpoints", "Interrupt", "INTERRUPT_DIR"]

INTERRUPT_DIR = "initlab-checkpoints"
# what atomic.write_bytes names its temp files: ".<target name>.<random>.tmp"
_TEMP = re.compile(r"\.(step-\d{8,}|best)\.safetensors\.[^/]+\.tmp")


class FolderLock:
    """An exclusive lock on a folder for this process (flock on the folder itself, so that no
    lock file can go stale), with the holder's PID and start time in `.initlab-run` beside the
    checkpoints while it holds it."""

    INFO = ".initlab-run"

    def __init__(self, folder, option: str):
        self.folder, self.option, self._fd = Path(folder), option, None

    def acquire(self):
        if fcntl is None:
            return self
        try:
            fd = os.open(self.folder, os.O_RDONLY)
        except OSError as exc:
            raise CheckpointError(f"{self.option}: cannot open the folder {str(self.folder)!r} to lock it: "
                                  f"{exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise CheckpointError(f"{self.option}: {str(self.folder)!r} is in use by another initlab run "
                                  f"({self._holder()}); one folder holds one run: wait for it to end, "
                                  "or give another folder") from None
        except OSError:              # a file system without locks (some network ones): run unlocked
            os.close(fd)
            return self
        self._fd = fd
        for stale in self.folder.iterdir():       # a killed run's half-written checkpoints
            if _TEMP.fullmatch(stale.name):
                stale.unlink(missing_ok=True)
        started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
        with contextlib.suppress(OSError):       # only a courtesy to the run refused: a full disk skips it
            (self.folder / self.INFO).write_text(json.dumps({"pid": os.getpid(), "started": started}))
        return self

    def _holder(self) -> str:
        try:
            info = json.loads((self.folder / self.INFO).read_text()[:1000])
            return f"PID {int(info['pid'])}, started {str(info['started'])[:40]}"
        except (OSError, ValueError, TypeError, KeyError):
            return "PID unknown: it is starting or ending"

    def release(self):
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            (self.folder / self.INFO).unlink()
        os.close(self._fd)          # closing the last descriptor releases the flock
        self._fd = None


class RunFolder:
    """Where one `initlab train` run reads and writes its checkpoints (see the module's rules).

    `check()` refuses a bad combination before any work; `with run_folder:` takes the locks
    (creating the checkpoint folder) and removes what a failed run created and left empty;
    `latest()` is the checkpoint to resume from; `save`/`save_best` write the run's
    checkpoints; `interrupt_folder()` gives a Ctrl-C without a folder somewhere to write."""

    def __init__(self, checkpoint_dir=None, resume=None, save=None, force=False, keep=None, say=None):
        self.checkpoint_dir, self.resume, self.save_path, self.force = checkpoint_dir, resume, save, force
        written = checkpoint_dir or resume
        self.option = "--checkpoint-dir" if checkpoint_dir else "--resume"
        self.folder = checkpoint.CheckpointDir(written, keep=keep) if written else None
        self.saved_path = None          # the newest checkpoint this run wrote
        self._say = say or (lambda *a: None)
        self._stale, self._written, self._locks, self._created = [], set(), [], []

    def keep(self, keep):
        """Keep the last `keep` step checkpoints (None: all); known once a resumed run's options are."""
        if self.folder is not None:
            self.folder = checkpoint.CheckpointDir(self.folder.folder, keep=keep)

    # ------------------------------------------------------------------ the rules

    @property
    def continues(self) -> bool:
        """Whether this run writes into the folder it resumes from (its checkpoints are its own)."""
        return bool(self.resume) and self.folder is not None and _same(self.resume, self.folder.folder)

    def check(self):
        """--resume names a folder, --save a file that is not this run's; --force applies."""
        if self.resume is not None and Path(self.resume).is_file():
            raise InvalidValueError(
                f"--resume: {self.resume!r} is a file; --resume takes the checkpoint folder (here "
                f"{str(Path(self.resume).parent)!r}) and continues from its newest step-*.safetensors")
        if self.save_path is not None:
            self._check_save()
        if self.force and self.folder is None and self.save_path is None:
            raise InvalidValueError("--force: applies to --checkpoint-dir DIR or --save PATH only")

    def _check_save(self):
        save, given = Path(self.save_path), self.save_path
        if save.is_dir() or str(given).endswith(("/", os.sep)):
            raise InvalidValueError(f"--save: {given!r} is a folder; expected a file path such as "
                                    f"{str(save / 'model.safetensors')!r}")
        for option, folder in (("--checkpoint-dir", self.checkpoint_dir), ("--resume", self.resume)):
            if folder is None:
                continue
            if _same(save, folder):
                raise InvalidValueError(f"--save: {given!r} is this run's {option} folder; expected a file "
                                        f"path such as {str(save / 'model.safetensors')!r}")
            if save.resolve().parent == Path(folder).resolve() and _is_checkpoint_name(save.name):
                raise InvalidValueError(
                    f"--save: {given!r} is a checkpoint name in this run's {option} folder, never overwritten "
                    f"(even with --force); save the model elsewhere, e.g. {str(save.parent / 'model.safetensors')!r}")
        if (save.exists() or save.is_symlink()) and not self.force:     # a dangling link too
            also = ""
            if self.checkpoint_dir is not None and not self.continues and self.folder.holds_checkpoints():
                also = f" (--force would also delete the old checkpoints in {str(self.folder.folder)!r})"
            raise InvalidValueError(f"--save: {given!r} already exists; pass --force to overwrite it{also}, "
                                    "or save elsewhere")

    def check_fresh(self):
        """A run that does not continue the checkpoints in its folder must not write among them
        (called with the lock held, so that no other run adds any meanwhile)."""
        if self.folder is None or self.continues:
            return
        found = self.folder.checkpoints()
        if found and not self.force:
            names = ", ".join(p.name for p in found[:3]) + (", ..." if len(found) > 3 else "")
            raise InvalidValueError(
                f"--checkpoint-dir: {str(self.folder.folder)!r} already holds checkpoints of another run "
                f"({names}); continue that run with --resume {self.folder.folder}, or give a new folder "
                "(--force deletes them and starts over there)")
        self._stale = found      # --force: deleted once this run has a checkpoint of its own

    # ------------------------------------------------------------------ locks

    def __enter__(self):
        try:
            if self.checkpoint_dir is not None:
                folder = self.folder.folder
                self._created = [p for p in (folder, *folder.parents) if not p.exists()]
                folder.mkdir(parents=True, exist_ok=True)
                self._lock(folder, "--checkpoint-dir")
            locked = self.checkpoint_dir is not None and self.continues     # the same folder
            if self.resume is not None and Path(self.resume).is_dir() and not locked:
                self._lock(self.resume, "--resume")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _lock(self, folder, option):
        self._locks.append(FolderLock(folder, option).acquire())

    def __exit__(self, *exc):
        for lock in reversed(self._locks):
            lock.release()
        self._locks = []
        for path in self._created:               # the deepest first: what a failed run made, if empty
            if not path.is_dir() or any(path.iterdir()):
                break
            path.rmdir()

    # ------------------------------------------------------------------ reading and writing

    def latest(self) -> Path:
        """The newest step checkpoint in the --resume folder."""
        found = checkpoint.CheckpointDir(self.resume)
        try:
            return found.latest()
        except CheckpointError as exc:
            if (found.folder / found.BEST).is_file():
                raise CheckpointError(f"--resume: {exc}, only {found.BEST} (the model of the best epoch); "
                                      "--resume continues from the newest step checkpoint") from None
            raise CheckpointError(f"--resume: {exc}") from None

    def interrupt_folder(self, root=INTERRUPT_DIR) -> checkpoint.CheckpointDir:
        """A new, empty, locked folder under `root` for a Ctrl-C without --checkpoint-dir, so that
        the runs Ctrl-C stops never share one."""
        root = Path(root)
        root.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("run-%Y%m%d-%H%M%S")
        for k in range(1, 10_000):
            folder = root / (stamp if k == 1 else f"{stamp}-{k}")
            try:
                folder.mkdir()
            except FileExistsError:
                continue
            self.folder, self.option = checkpoint.CheckpointDir(folder), "the Ctrl-C checkpoint folder"
            self._lock(folder, self.option)
            return self.folder
        raise CheckpointError(f"cannot make a new run folder in {str(root)!r}: 9,999 taken this second")

    def save(self, step: int, model, optimizer=None, /, **state) -> Path:
        """The checkpoint of `step`, written atomically; a full disk names the file and the option."""
        path = self._write(lambda: self.folder.save(step, model, optimizer, **state),
                           self.folder.folder / f"step-{step:08d}.safetensors")
        self.saved_path = path
        return path

    def save_best(self, model, optimizer=None, /, **state) -> Path:
        return self._write(lambda: self.folder.save_best(model, optimizer, **state),
                           self.folder.folder / self.folder.BEST)

    def _write(self, write, path) -> Path:
        try:
            path = write()
        except OSError as exc:
            raise CheckpointError(f"{self.option}: cannot write checkpoint {str(path)!r}: "
                                  f"{exc.strerror or exc}; the previous checkpoints are kept") from None
        self._written.add(Path(path))
        deleted = [old for old in self._stale if old not in self._written]
        for old in deleted:
            old.unlink(missing_ok=True)
        if deleted:
            self._say(f"--force: deleted {len(deleted)} old checkpoint(s) in {self.folder.folder}")
        self._stale = []
        return path

    def save_model(self, model, **state) -> Path:
        """The trained model (no optimizer) to --save, its folder made if need be."""
        path = Path(self.save_path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            return checkpoint.save(path, model, None, **state)
        except OSError as exc:
            raise CheckpointError(f"--save: cannot write {str(path)!r}: {exc.strerror or exc}") from None


def _same(a, b) -> bool:
    return Path(a).resolve() == Path(b).resolve()


def _is_checkpoint_name(name: str) -> bool:
    return bool(checkpoint.CheckpointDir.PATTERN.fullmatch(name)) or name == checkpoint.CheckpointDir.BEST


class Interrupt:
    """Ctrl-C (SIGINT) that always leaves a checkpoint: the first press asks the run to stop
    after the step in flight (and save); the second is acknowledged; from the third on the
    run aborts, but a checkpoint being written is finished first (`deferred`), so that the
    last durable checkpoint is never one half written."""

    def __init__(self):
        self.requested, self.presses, self._saving, self._abort = False, 0, False, False
        self._old = None

    def _handle(self, signum, frame):
        self.presses += 1
        if self.presses == 1:
            self.requested = True
        elif self.presses == 2 or self._saving:
            self._abort = self.presses >= 3
            print("initlab: stopping after this step and saving a checkpoint, please wait "
                  "(Ctrl-C again aborts; the last checkpoint written is kept)", file=sys.stderr)
        else:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def deferred(self):
        """While the body runs (a checkpoint write), Ctrl-C only marks an abort for after it."""
        self._saving = True
        try:
            yield
        finally:
            self._saving = False
        if self._abort:
            raise KeyboardInterrupt

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc):
        if self._old is None:
            return
        # once asked to stop, the run has stopped and saved: a quick second press that lands
        # while the process exits is ignored (Python's exit would restore the default action,
        # which kills the process: exit status -2 instead of 130)
        signal.signal(signal.SIGINT, signal.SIG_IGN if self.requested else self._old)


class Checkpoints:
    """A fit callback that writes a run's checkpoints into its RunFolder: every N steps or
    epochs (`every`: [N, "step" | "epoch"]), best (the highest validation accuracy so far), at
    the end, and after a Ctrl-C (`interrupt.requested`: the run stops after this step; without a
    folder the checkpoint goes to a new one under INTERRUPT_DIR). `payload(state)` is what each
    checkpoint stores beside the model and optimizer."""

    def __init__(self, run_folder: RunFolder, every, payload, interrupt):
        self.run, self.every, self.payload, self.interrupt = run_folder, every, payload, interrupt
        self.saved_step, self.best = None, -1.0

    def _save(self, state, best=False):
        # a stand-in Interrupt without `deferred` (tests) writes undeferred
        with getattr(self.interrupt, "deferred", contextlib.nullcontext)():
            if best:
                return self.run.save_best(state.model, state.optimizer, **self.payload(state))
            path = self.run.save(state.step, state.model, state.optimizer, **self.payload(state))
            self.saved_step = state.step
            return path

    def on_train_begin(self, state):
        self.best = max((a for a in state.history.val_acc if a == a), default=-1.0)

    def on_batch_end(self, state):
        if self.every and self.every[1] == "step" and state.step % self.every[0] == 0:
            self._save(state)
        self._check_interrupt(state)

    def on_epoch_end(self, state):
        h = state.history
        if self.run.folder is not None and h.val_acc and h.val_acc[-1] > self.best:
            self.best = h.val_acc[-1]
            self._save(state, best=True)
        at_epoch = self.every and self.every[1] == "epoch" and state.epoch % self.every[0] == 0
        # a step checkpoint of this very step was written before the epoch's row and evaluation:
        # written again, so that the newest checkpoint holds the whole epoch
        if at_epoch or self.saved_step == state.step:
            self._save(state)
        self._check_interrupt(state)

    def _check_interrupt(self, state):
        if self.interrupt.requested:
            state.stop = True
            if self.run.folder is None:       # on_train_end writes the checkpoint there
                self.run.interrupt_folder()

    def on_train_end(self, state):
        if self.run.folder is not None and self.saved_step != state.step:
            self._save(state)
