"""`initlab train`: train a model on a dataset, print a per-epoch table and the test accuracy.

The last line is always `test accuracy: 0.9833` (the measured value, 4 decimals), so scripts can
read it. Everything printed on stdout is deterministic for a seed except the `seconds` column.
Checkpoints (`--checkpoint-dir`) can be resumed (`--resume DIR`) to the same bits as an
uninterrupted run; Ctrl-C finishes the step, writes a checkpoint and says how to resume.
One checkpoint folder holds one run: a fresh run refuses a folder that already holds
checkpoints (unless --force, which deletes them), and Ctrl-C without --checkpoint-dir writes
into a new folder of its own under ./initlab-checkpoints.
"""
from __future__ import annotations

import os
import re
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np

from .. import checkpoint, data, initializers, layers, models, optim, trained
from ..errors import (CheckpointError, InitlabError, InvalidValueError, ShapeError, UnknownNameError,
                      unknown_name)
from ..losses import SoftmaxCrossEntropy
from ..optim import DEFAULT_LR
from ..train import History, check_resume_info, evaluate, fit
from ..validate import positive_int, real_number
from . import _schedule, ui
from ._options import MAX_STEPS, check_plain_model, named
from ._paths import check_not_empty, check_writable_folder

ORDER = 10

DEFAULTS = dict(data="digits", model="small_cnn", init="he_normal", activation="relu",
                optimizer="adam", lr=None, momentum=0.9, epochs=15, batch_size=32, seed=0, n=None,
                clip_grad_norm=None, checkpoint_every=None, keep=None, schedule=None, warmup=None)
# what a resumed run must share with the run it continues (the rest may be overridden)
FIXED_ON_RESUME = ("data", "model", "init", "activation", "optimizer", "batch_size", "seed", "n",
                   "schedule", "warmup")
NAMES = ("data", "model", "init", "activation", "optimizer")
INTERRUPT_DIR = "initlab-checkpoints"   # Ctrl-C without --checkpoint-dir: a new run-* folder in it


def register(subparsers):
    p = subparsers.add_parser(
        "train", help="train a CNN and print its test accuracy",
        description="Train a model on a dataset; prints the model, a per-epoch table and, last, "
                    "'test accuracy: X'. Defaults: small_cnn on digits, Adam (lr 0.001), 15 epochs "
                    "of batch 32 (about 99% test accuracy in seconds).")
    p.add_argument("--data", help="shapes, digits or mnist:PATH (default digits)")
    p.add_argument("--model", help="lenet5, small_cnn or plain:DEPTHxWIDTH (default small_cnn)")
    p.add_argument("--init", help="weight initializer (see 'initlab inits'), e.g. he_normal, glorot or "
                                  "'normal(std=0.01)'; lsuv, patch_kmeans and patch_pca see the training images "
                                  "first (patch_pca: at most C*kh*kw filters, e.g. 9 for one channel and 3x3: "
                                  "--model plain:DEPTHx8, or lenet5 on 12x12+ images)")
    p.add_argument("--activation", help="relu, leaky_relu, tanh, sigmoid, elu, gelu, selu (default relu)")
    p.add_argument("--optimizer", help="adam, adamw or sgd (default adam)")
    p.add_argument("--lr", type=float, help="learning rate (default 0.001 for adam, 0.05 for sgd)")
    p.add_argument("--momentum", type=float, help="SGD momentum (default 0.9; sgd only)")
    p.add_argument("--schedule", metavar="SPEC",
                   help="learning-rate schedule over the run's steps: cosine, one_cycle, linear, step "
                        "(each epoch by default), 'exponential(gamma=0.999)', 'multistep(milestones=[500, 800])'; "
                        "keyword arguments as PyTorch's, e.g. 'cosine(eta_min=1e-5)'")
    p.add_argument("--warmup", type=int, metavar="N", help="ramp the learning rate up linearly over the first N steps")
    p.add_argument("--epochs", type=int, help="total number of epochs (default 15)")
    p.add_argument("--batch-size", type=int, help="mini-batch size (default 32)")
    p.add_argument("--seed", type=int, help="seed of the split, the weights and the data order (default 0)")
    p.add_argument("--n", type=int, help="number of shapes images, or a cap on digits/MNIST examples")
    p.add_argument("--clip-grad-norm", type=float, metavar="X", help="clip the global gradient norm to X")
    p.add_argument("--save", metavar="PATH", help="write the trained model to PATH (.safetensors); an "
                                                  "existing file is refused unless --force")
    p.add_argument("--checkpoint-dir", metavar="DIR", help="write resumable checkpoints to DIR")
    p.add_argument("--checkpoint-every", metavar="N",
                   help="checkpoint every N steps, or every N epochs as 'Ne' (default 1e)")
    p.add_argument("--keep", type=int, metavar="K", help="keep the last K step checkpoints (plus best)")
    p.add_argument("--resume", metavar="DIR", help="continue from the newest checkpoint in DIR")
    p.add_argument("--force", action="store_true",
                   help="overwrite an existing --save file, and start a fresh run in a --checkpoint-dir "
                        "that holds checkpoints (deletes them)")
    p.add_argument("--quiet", action="store_true", help="print only the test accuracy line")
    p.set_defaults(func=run, sizes="--n, --batch-size, --model plain:DEPTHxWIDTH")


# --------------------------------------------------------------------------- options

def _every(value):
    """'100' -> (100, 'step'); '2e' / '2epochs' -> (2, 'epoch')."""
    if value is None or isinstance(value, (list, tuple)):
        return value
    match = re.fullmatch(r"\s*(\d+)\s*(e|epochs?|s|steps?)?\s*", str(value))
    if not match or int(match[1]) < 1:
        raise InvalidValueError(
            f"--checkpoint-every: expected N steps or Ne epochs with N >= 1 (e.g. 200 or 1e), got {value!r}"
        )
    return [int(match[1]), "epoch" if (match[2] or "s").startswith("e") else "step"]


def _given(args) -> dict:
    """The run options the user typed (None = not given)."""
    return {key: getattr(args, key) for key in DEFAULTS}


def _resolve(given: dict, saved: dict | None) -> dict:
    """Options = defaults <- saved (on resume) <- given; a resumed run keeps FIXED_ON_RESUME."""
    opts = dict(DEFAULTS)
    if saved:
        for key in FIXED_ON_RESUME:
            if given.get(key) is not None and given[key] != saved.get(key):
                raise InvalidValueError(
                    f"--{key.replace('_', '-')}: cannot change when resuming (the checkpoint "
                    f"was trained with {saved.get(key)!r}, got {given[key]!r})"
                )
        opts.update({k: v for k, v in saved.items() if k in DEFAULTS})
    opts.update({k: v for k, v in given.items() if v is not None})
    if opts["lr"] is None:
        opts["lr"] = DEFAULT_LR.get(opts["optimizer"], 0.01)
    opts["checkpoint_every"] = _every(opts["checkpoint_every"])
    return opts


def _check_model(name: str):
    """A model name models.build knows, a plain:DEPTHxWIDTH within the size limits."""
    try:
        models.parse_name(name)
    except UnknownNameError as exc:
        raise named("--model", exc) from None
    check_plain_model(name)


def _check(opts: dict, given: dict, data_option: str = "--data"):
    """Every name and number before any work, each error naming its option (`data_option`:
    how to name the data when it came from a resumed run, not from the command line)."""
    for key in NAMES:
        if not isinstance(opts[key], str):
            raise InvalidValueError(f"--{key}: expected a name, got {opts[key]!r}")
    try:
        data.check_name(opts["data"])
    except InitlabError as exc:
        raise named(data_option, exc) from None
    _check_model(opts["model"])
    every = opts["checkpoint_every"]
    if every is not None and not (isinstance(every, (list, tuple)) and len(every) == 2
                                  and every[1] in ("step", "epoch") and not isinstance(every[0], bool)
                                  and isinstance(every[0], int) and every[0] >= 1):
        raise InvalidValueError(f"--checkpoint-every: expected N steps or Ne epochs with N >= 1, got {every!r}")
    for key, low in (("epochs", 1), ("batch_size", 1), ("seed", 0), ("n", 1), ("keep", 1)):
        if opts[key] is not None:
            positive_int(opts[key], f"--{key.replace('_', '-')}", minimum=low)
    real_number(opts["lr"], "--lr", low=0, low_open=True)
    real_number(opts["momentum"], "--momentum", low=0, high=1)
    if opts["clip_grad_norm"] is not None:
        real_number(opts["clip_grad_norm"], "--clip-grad-norm", low=0, low_open=True)
    if opts["optimizer"] not in optim.OPTIMIZERS:
        raise named("--optimizer", unknown_name("optimizer", opts["optimizer"], optim.OPTIMIZERS))
    if opts["optimizer"] != "sgd" and given.get("momentum") is not None:
        raise InvalidValueError(f"--momentum: applies to --optimizer sgd only, got --optimizer {opts['optimizer']}")
    _schedule.build(opts["schedule"], opts["warmup"], MAX_STEPS, 1)    # the spec; lengths once the data is read
    if opts["activation"] not in layers.ACTIVATION_LAYERS:
        raise named("--activation", unknown_name("activation", opts["activation"], layers.ACTIVATION_LAYERS))
    initializers.check(opts["init"], "--init")


def _check_paths(args):
    """--save, --checkpoint-dir and --resume name usable paths, where this run can write
    (checked before any training)."""
    check_not_empty(args.save, "--save", "a file path such as model.safetensors")
    check_not_empty(args.checkpoint_dir, "--checkpoint-dir", "a folder path")
    check_not_empty(args.resume, "--resume", "the checkpoint folder of a run")
    if args.resume is not None and Path(args.resume).is_file():
        raise InvalidValueError(
            f"--resume: {args.resume!r} is a file; --resume takes the checkpoint folder "
            f"(here {str(Path(args.resume).parent)!r}) and continues from its newest step-*.safetensors")
    if args.checkpoint_dir is not None:
        check_writable_folder(args.checkpoint_dir, "--checkpoint-dir")
    elif args.resume is not None and Path(args.resume).is_dir():   # the resumed run writes there
        check_writable_folder(args.resume, "--resume")
    if args.save is not None:
        _check_save(args)
    if args.force and args.checkpoint_dir is None and args.save is None:
        raise InvalidValueError("--force: applies to --checkpoint-dir DIR or --save PATH only")


def _check_save(args):
    """--save names a new file (its folder is made if need be), or (with --force) a file to
    overwrite; never a checkpoint of this run, nor its checkpoint folder."""
    save = Path(args.save)
    if save.is_dir() or str(args.save).endswith(("/", os.sep)):
        raise InvalidValueError(f"--save: {args.save!r} is a folder; expected a file path such as "
                                f"{str(save / 'model.safetensors')!r}")
    for option, folder in (("--checkpoint-dir", args.checkpoint_dir), ("--resume", args.resume)):
        if folder is None:
            continue
        if save.resolve() == Path(folder).resolve():
            raise InvalidValueError(f"--save: {args.save!r} is this run's {option} folder; expected a file "
                                    f"path such as {str(save / 'model.safetensors')!r}")
        if save.resolve().parent == Path(folder).resolve() and (
                checkpoint.CheckpointDir.PATTERN.fullmatch(save.name) or save.name == checkpoint.CheckpointDir.BEST):
            raise InvalidValueError(
                f"--save: {args.save!r} is a checkpoint name in this run's {option} folder, never overwritten "
                f"(even with --force); save the model elsewhere, e.g. {str(save.parent / 'model.safetensors')!r}")
    if (save.exists() or save.is_symlink()) and not args.force:     # a dangling link too
        folder = None if args.checkpoint_dir is None else checkpoint.CheckpointDir(args.checkpoint_dir)
        also = ""
        if folder is not None and not _continues(args, folder) and folder.holds_checkpoints():
            also = f" (--force would also delete the old checkpoints in {str(folder.folder)!r})"
        raise InvalidValueError(f"--save: {args.save!r} already exists; pass --force to overwrite it{also}, "
                                "or save elsewhere")
    check_writable_folder(save.parent, "--save", args.save)


def _same_folder(a, b) -> bool:
    return Path(a).resolve() == Path(b).resolve()


def _continues(args, folder) -> bool:
    """Whether this run writes into the folder it resumes from (so its checkpoints are its own)."""
    return bool(args.resume) and _same_folder(args.resume, folder.folder)


def _check_fresh_folder(args, folder):
    """A run that does not continue the checkpoints in `folder` must not write among them: their
    steps would outrank its own (pruning would delete the new ones, --resume would pick the old run)."""
    if folder is None or _continues(args, folder):
        return
    found = folder.checkpoints()
    if found and not args.force:
        names = ", ".join(p.name for p in found[:3]) + (", ..." if len(found) > 3 else "")
        raise InvalidValueError(
            f"--checkpoint-dir: {str(folder.folder)!r} already holds checkpoints of another run "
            f"({names}); continue that run with --resume {folder.folder}, or give a new folder "
            "(--force deletes them and starts over there)"
        )


def _check_splits(dataset, opts):
    """Every split has an example: an empty validation or test split would fail only after training."""
    sizes = {"train": len(dataset.train[0]), "validation": len(dataset.val[0]), "test": len(dataset.test[0])}
    empty = [name for name, size in sizes.items() if size == 0]
    if not empty:
        return
    counts = ", ".join(f"{name} {size}" for name, size in sizes.items())
    which = " and ".join(empty) + (" splits" if len(empty) > 1 else " split")
    if opts["n"] is None:
        raise InvalidValueError(f"--data {opts['data']}: its {which} would be empty ({counts})")
    raise InvalidValueError(
        f"--n {opts['n']}: leaves the {which} empty ({counts}); give a larger --n (a class needs "
        f"3 examples to reach every split: e.g. --n {3 * dataset.num_classes} or more)"
    )


# --------------------------------------------------------------------------- building

def _seeds(seed):
    """Independent streams for the weights and the data order, from one seed."""
    weights, order = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(weights), np.random.default_rng(order)


def _build_model(opts, dataset, rng):
    """The model; a data-dependent --init (lsuv, patch_kmeans, patch_pca) then sees the training
    images (initlab.initializers.apply)."""
    data_driven = initializers.is_data_dependent(opts["init"])
    build = dict(in_channels=dataset.in_channels, num_classes=dataset.num_classes, image_size=dataset.image_size,
                 activation=opts["activation"])
    try:
        model = models.build(opts["model"], weight_init=initializers.layer_spec(opts["init"]), rng=rng, **build)
    except InitlabError as exc:
        raise _misfit(opts, build, exc, data_driven) from None
    try:
        return initializers.apply(model, opts["init"], dataset.train[0], rng)
    except InitlabError as exc:
        raise InvalidValueError(f"--init {opts['init']}: {exc}") from None


def _misfit(opts, build: dict, exc: InitlabError, data_driven: bool) -> InvalidValueError:
    """Blame --init when the model builds with the default initializer, else --model."""
    if not data_driven and opts["init"] != DEFAULTS["init"]:
        try:
            models.build(opts["model"], weight_init=DEFAULTS["init"], rng=0, **build)
        except InitlabError:
            pass
        else:
            return InvalidValueError(f"--init {opts['init']}: cannot initialize --model {opts['model']}: {exc}")
    if isinstance(exc, ShapeError):
        return InvalidValueError(f"--model {opts['model']} does not fit --data {opts['data']}: {exc}")
    return named("--model", exc)


def _build_optimizer(opts, model, dataset):
    per_epoch = -(-len(dataset.train[0]) // opts["batch_size"])
    schedule = _schedule.build(opts["schedule"], opts["warmup"], opts["epochs"] * per_epoch, per_epoch)
    if opts["optimizer"] == "sgd":
        return optim.SGD(model, opts["lr"], momentum=opts["momentum"], schedule=schedule)
    return optim.OPTIMIZERS[opts["optimizer"]](model, opts["lr"], schedule=schedule)


def _apply_overrides(optimizer, opts, given):
    """A resumed run may change the learning rate (and SGD momentum)."""
    if given.get("lr") is not None:
        optimizer.lr = opts["lr"]
    if given.get("momentum") is not None and hasattr(optimizer, "momentum"):
        optimizer.momentum = opts["momentum"]


# --------------------------------------------------------------------------- output

COLUMNS = ("epoch", "train loss", "train acc", "val loss", "val acc", "seconds")


def _header() -> str:
    return f"{COLUMNS[0]:>5}  {COLUMNS[1]:>10}  {COLUMNS[2]:>9}  {COLUMNS[3]:>9}  {COLUMNS[4]:>8}  {COLUMNS[5]:>7}"


def _row(h: History, i: int) -> str:
    val_loss = f"{h.val_loss[i]:.4f}" if i < len(h.val_loss) else "-"
    val_acc = f"{h.val_acc[i]:.4f}" if i < len(h.val_acc) else "-"
    return (f"{h.epoch[i]:>5}  {h.train_loss[i]:>10.4f}  {h.train_acc[i]:>9.4f}  {val_loss:>9}  "
            f"{val_acc:>8}  {h.epoch_seconds[i]:>7.2f}")


def _print_model(model, dataset):
    rows = model.summary_rows((dataset.in_channels, *dataset.image_size))
    ui.print_table("model", ["layer", "output shape", "params", "init"],
                   [(name, "(" + ", ".join(map(str, shape)) + ")", f"{count:,}", inits)
                    for name, shape, count, inits in rows])
    print(f"total parameters: {model.num_parameters():,}")


def _print_data(dataset):
    size = "x".join(str(s) for s in dataset.image_size)
    print(f"data: {dataset.name}  train {len(dataset.train[0])}  val {len(dataset.val[0])}  "
          f"test {len(dataset.test[0])}  ({dataset.in_channels}x{size}, {dataset.num_classes} classes)")


# --------------------------------------------------------------------------- the run's callback

class _Interrupt:
    """SIGINT sets a flag (the step in flight finishes); a second Ctrl-C stops at once."""

    def __init__(self):
        self.requested = False
        self._old = None

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)


class _Run:
    """Progress bar, epoch rows, checkpoints (every N steps/epochs, last K, best), Ctrl-C."""

    def __init__(self, opts, folder, interrupt, bar, quiet, stale=()):
        self.opts, self.folder, self.interrupt, self.bar, self.quiet = opts, folder, interrupt, bar, quiet
        # --force: another run's checkpoints, deleted once this run has one of its own (a run
        # that fails before its first checkpoint leaves them as they were)
        self.stale = list(stale)
        self.written = set()
        self.every = opts["checkpoint_every"]
        self.saved_step = None
        self.saved_path = None
        self.best = -1.0
        self.task = None
        self.started = time.perf_counter()
        self.examples = 0

    def _save(self, state):
        path = self.folder.save(state.step, state.model, state.optimizer, **self.payload(state))
        self.saved_step, self.saved_path = state.step, path
        self._wrote(path)
        return path

    def _wrote(self, path):
        self.written.add(Path(path))
        gone = [old for old in self.stale if old not in self.written]
        for old in gone:
            old.unlink(missing_ok=True)
        if gone and not self.quiet:
            print(f"--force: deleted {len(gone)} old checkpoint(s) in {self.folder.folder}")
        self.stale = []

    def payload(self, state):
        return dict(args=self.opts, train=state.resume_info(), epoch=state.epoch, step=state.step)

    def on_train_begin(self, state):
        h = state.history
        self.best = max((a for a in h.val_acc if a == a), default=-1.0)
        if self.bar is not None:
            self.task = self.bar.add_task("train", total=state.epochs * state.batches_per_epoch,
                                          completed=state.step, status="")

    def on_batch_end(self, state):
        if self.task is not None:
            rate = state.examples / max(time.perf_counter() - self.started, 1e-9)
            self.bar.update(self.task, completed=state.step,
                            status=f"epoch {state.epoch + 1}  loss {state.loss:.4f}  {rate:,.0f} img/s")
        if self.every and self.every[1] == "step" and state.step % self.every[0] == 0:
            self._save(state)
        self._check_interrupt(state)

    def _check_interrupt(self, state):
        if self.interrupt.requested:
            state.stop = True
            if self.folder is None:   # on_train_end writes the checkpoint here
                self.folder = _interrupt_folder()

    def on_epoch_end(self, state):
        h = state.history
        if not self.quiet:
            print(_row(h, len(h.epoch) - 1))
        if self.folder is not None and h.val_acc and h.val_acc[-1] > self.best:
            self.best = h.val_acc[-1]
            self._wrote(self.folder.save_best(state.model, state.optimizer, **self.payload(state)))
        at_epoch = self.every and self.every[1] == "epoch" and state.epoch % self.every[0] == 0
        # a step checkpoint of this very step was written before the epoch's row and evaluation:
        # written again, so that the newest checkpoint holds the whole epoch
        if at_epoch or self.saved_step == state.step:
            self._save(state)
        self._check_interrupt(state)

    def on_train_end(self, state):
        if self.folder is not None and self.saved_step != state.step:
            self._save(state)


def _interrupt_folder(root=INTERRUPT_DIR) -> checkpoint.CheckpointDir:
    """A new, empty folder under `root` (run-<date>-<time>, -2, -3, ... when taken), so that the
    runs Ctrl-C stops never share one."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("run-%Y%m%d-%H%M%S")
    k = 1
    while True:
        folder = root / (stamp if k == 1 else f"{stamp}-{k}")
        try:
            folder.mkdir()
        except FileExistsError:
            k += 1
            continue
        return checkpoint.CheckpointDir(folder)


# --------------------------------------------------------------------------- run

def _latest(folder) -> Path:
    """The newest step checkpoint in the --resume folder."""
    found = checkpoint.CheckpointDir(folder)
    try:
        return found.latest()
    except CheckpointError as exc:
        if (found.folder / found.BEST).is_file():
            raise CheckpointError(f"--resume: {exc}, only {found.BEST} (the model of the best epoch); "
                                  "--resume continues from the newest step checkpoint") from None
        raise named("--resume", exc) from None


def _check_epochs_left(opts, saved, given, folder):
    """A resumed run must have an epoch left to train (else it would do nothing and exit 0)."""
    done = saved["train"]["epoch"]
    if opts["epochs"] <= done:
        asked = f"got --epochs {given['epochs']}" if given.get("epochs") is not None else \
            f"and was run with --epochs {opts['epochs']}"
        raise InvalidValueError(f"--epochs: the run in {str(folder)!r} has already trained {done} epoch(s), "
                                f"{asked}; give --epochs {done + 1} or more to train it further")


def _load_resume(folder):
    path = _latest(folder)
    model, optimizer, state = checkpoint.load(path)
    if optimizer is None or not isinstance(state.get("args"), dict) or "train" not in state:
        raise CheckpointError(f"checkpoint {str(path)!r} was not written by 'initlab train' "
                              "(it lacks the optimizer or the run's options)")
    try:
        check_resume_info(state["train"])
        saved = _resolve({}, state["args"])
        _check(saved, {}, data_option=f"--data {saved['data']} (the resumed run's)")
    except (InvalidValueError, UnknownNameError) as exc:
        raise CheckpointError(f"checkpoint {str(path)!r} holds a malformed run state: {exc}") from None
    return path, model, optimizer, state


def run(args) -> int:
    given = _given(args)
    _check_paths(args)
    saved = None
    if args.resume:
        path, model, optimizer, saved = _load_resume(args.resume)
    opts = _resolve(given, saved["args"] if saved else None)
    _check(opts, given)
    if saved is not None:
        _check_epochs_left(opts, saved, given, args.resume)
    for option, key in (("--checkpoint-every", "checkpoint_every"), ("--keep", "keep")):
        if opts[key] and not (args.checkpoint_dir or args.resume):
            raise InvalidValueError(f"{option}: needs --checkpoint-dir DIR")
    folder_name = args.checkpoint_dir or args.resume
    folder = checkpoint.CheckpointDir(folder_name, keep=opts["keep"]) if folder_name else None
    _check_fresh_folder(args, folder)
    quiet = args.quiet
    say = (lambda *a: None) if quiet else print

    try:
        dataset = data.load(opts["data"], seed=opts["seed"], n=opts["n"])
    except InitlabError as exc:       # a malformed MNIST file, a resumed run's data moved, ...
        source = "--data" if saved is None or args.data else f"--data {opts['data']} (the resumed run's)"
        raise named(source, exc) from None
    _check_splits(dataset, opts)
    weights_rng, order_rng = _seeds(opts["seed"])
    if saved is None:
        model = _build_model(opts, dataset, weights_rng)
        optimizer = _build_optimizer(opts, model, dataset)
        if (note := initializers.cannot_learn(opts["init"], "--init")) is not None:
            print(f"initlab: note: {note}", file=sys.stderr)
    else:
        _apply_overrides(optimizer, opts, given)
        say(f"resuming from {path} (epoch {saved['train']['epoch'] + 1}, step {saved['train']['step']})")
    if not quiet:
        _print_data(dataset)
        _print_model(model, dataset)

    stale = folder.checkpoints() if args.force and folder is not None and not _continues(args, folder) else []
    if folder is not None and opts["checkpoint_every"] is None:
        opts["checkpoint_every"] = [1, "epoch"]
    loss_fn = SoftmaxCrossEntropy()
    history = None
    if saved is not None:
        history = History.from_dict(saved["train"]["history"])
    say(_header())
    for i in range(len(history.epoch) if history else 0):
        say(_row(history, i))

    # a live bar redirects stdout onto its own console (stderr): show it only when both are
    # terminals, so that `initlab train > log` keeps every row in the log
    show_bar = not quiet and sys.stdout.isatty() and sys.stderr.isatty()
    with _Interrupt() as interrupt, ui.progress(show_bar) as bar:
        callback = _Run(opts, folder, interrupt, bar, quiet, stale)
        history = fit(model, loss_fn, optimizer, dataset.train, dataset.val, epochs=opts["epochs"],
                      batch_size=opts["batch_size"], rng=order_rng, callbacks=[callback],
                      clip_grad_norm=opts["clip_grad_norm"],
                      resume=saved["train"] if saved else None)
    if interrupt.requested and len(history.epoch) < opts["epochs"]:
        return _interrupted(callback, history)

    test_loss, test_acc = evaluate(model, loss_fn, *dataset.test)
    if args.save is not None:
        Path(args.save).parent.mkdir(parents=True, exist_ok=True)
        checkpoint.save(args.save, model, None, args=opts, history=history.to_dict(),
                        test_accuracy=test_acc, test_loss=test_loss, input=trained.input_spec(dataset))
        say(f"saved model to {args.save}")
    print(f"test accuracy: {test_acc:.4f}")
    return 0


def _interrupted(callback, history):
    """After Ctrl-C: the callback wrote a checkpoint of the last finished step; say how to go on
    (naming the file it wrote and its folder)."""
    path = callback.saved_path
    print(f"initlab: interrupted after step {history.step}; checkpoint written to "
          f"{path}\nresume with: initlab train --resume {path.parent}", file=sys.stderr)
    return 130
