"""`initlab train`: train a model on a dataset, print a per-epoch table and the test accuracy.

The last line is always `test accuracy: 0.9833` (the measured value, 4 decimals), so scripts can
read it. Everything printed on stdout is deterministic for a seed except the `seconds` column.
Checkpoints (`--checkpoint-dir`) can be resumed (`--resume DIR`) to the same bits as an
uninterrupted run; Ctrl-C finishes the step, writes a checkpoint and says how to resume.
The folder rules (one run per folder, --force, --save, the Ctrl-C folder) are
`initlab.runfolder`'s; the options and their checks are in `_train_options`, the model and the
printed table in `_train_build`.
"""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import numpy as np

from .. import checkpoint, data, initializers, trained
from ..errors import CheckpointError, InitlabError, InvalidValueError, UnknownNameError
from ..losses import SoftmaxCrossEntropy
from ..runfolder import INTERRUPT_DIR, Checkpoints, RunFolder
from ..runfolder import Interrupt as _Interrupt
from ..train import History, check_resume_info, evaluate, fit
from . import ui
from ._options import count, named
from ._paths import check_not_empty, check_writable_folder
from ._train_build import (Progress, apply_overrides, build_model, build_optimizer, header, print_data,
                           print_model, row, seeds)
from ._train_options import check, check_splits, given_options, resolve

__all__ = ["register", "run", "INTERRUPT_DIR"]

ORDER = 10


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
    p.add_argument("--warmup", type=count, metavar="N", help="ramp the learning rate up linearly over the first N steps")
    p.add_argument("--epochs", type=count, help="total number of epochs (default 15)")
    p.add_argument("--batch-size", type=count, help="mini-batch size (default 32)")
    p.add_argument("--seed", type=count, help="seed of the split, the weights and the data order (default 0)")
    p.add_argument("--n", type=count, help="number of shapes images, or a cap on digits/MNIST examples")
    p.add_argument("--clip-grad-norm", type=float, metavar="X", help="clip the global gradient norm to X")
    p.add_argument("--save", metavar="PATH", help="write the trained model to PATH (.safetensors); an "
                                                  "existing file is refused unless --force")
    p.add_argument("--checkpoint-dir", metavar="DIR", help="write resumable checkpoints to DIR")
    p.add_argument("--checkpoint-every", metavar="N",
                   help="checkpoint every N steps, or every N epochs as 'Ne' (default 1e)")
    p.add_argument("--keep", type=count, metavar="K", help="keep the last K step checkpoints (plus best)")
    p.add_argument("--resume", metavar="DIR", help="continue from the newest checkpoint in DIR")
    p.add_argument("--force", action="store_true",
                   help="overwrite an existing --save file, and start a fresh run in a --checkpoint-dir "
                        "that holds checkpoints (deletes them)")
    p.add_argument("--quiet", action="store_true", help="print only the test accuracy line")
    p.set_defaults(func=run, sizes="--n, --batch-size, --model plain:DEPTHxWIDTH")




def _check_paths(args) -> RunFolder:
    """--save, --checkpoint-dir and --resume name usable paths, where this run can write, in a
    combination the run-folder rules allow (checked before any training)."""
    check_not_empty(args.save, "--save", "a file path such as model.safetensors")
    check_not_empty(args.checkpoint_dir, "--checkpoint-dir", "a folder path")
    check_not_empty(args.resume, "--resume", "the checkpoint folder of a run")
    if args.checkpoint_dir is not None:
        check_writable_folder(args.checkpoint_dir, "--checkpoint-dir")
    elif args.resume is not None and Path(args.resume).is_dir():   # the resumed run writes there
        check_writable_folder(args.resume, "--resume")
    folder = RunFolder(args.checkpoint_dir, args.resume, args.save, args.force,
                       say=None if args.quiet else print)
    folder.check()
    if args.save is not None:
        check_writable_folder(Path(args.save).parent, "--save", args.save)
    return folder


def _check_folder_options(opts, args):
    for option, key in (("--checkpoint-every", "checkpoint_every"), ("--keep", "keep")):
        if opts[key] and not (args.checkpoint_dir or args.resume):
            raise InvalidValueError(f"{option}: needs --checkpoint-dir DIR")


def _check_epochs_left(opts, saved, given, folder):
    """A resumed run must have an epoch left to train (else it would do nothing and exit 0)."""
    done = saved["train"]["epoch"]
    if opts["epochs"] <= done:
        asked = f"got --epochs {given['epochs']}" if given.get("epochs") is not None else \
            f"and was run with --epochs {opts['epochs']}"
        raise InvalidValueError(f"--epochs: the run in {str(folder)!r} has already trained {done} epoch(s), "
                                f"{asked}; give --epochs {done + 1} or more to train it further")


def _load_resume(folder: RunFolder):
    path = folder.latest()
    try:
        model, optimizer, state = checkpoint.load(path)
    except MemoryError:      # a size its contents declare, not one the user typed
        raise CheckpointError(f"checkpoint {str(path)!r} needs more memory than this machine has") from None
    if optimizer is None or not isinstance(state.get("args"), dict) or "train" not in state:
        raise CheckpointError(f"checkpoint {str(path)!r} was not written by 'initlab train' "
                              "(it lacks the optimizer or the run's options)")
    try:
        check_resume_info(state["train"])
        saved = resolve({}, state["args"])
        check(saved, {}, data_option=f"--data {saved['data']} (the resumed run's)")
    except (InvalidValueError, UnknownNameError) as exc:
        raise CheckpointError(f"checkpoint {str(path)!r} holds a malformed run state: {exc}") from None
    return path, model, optimizer, state


def run(args) -> int:
    given = given_options(args)
    folder = _check_paths(args)
    if not args.resume:      # a fresh run's options, before its folder is made and locked
        opts = resolve(given, None)
        check(opts, given)
        _check_folder_options(opts, args)
    with folder:
        resumed = None
        if args.resume:
            resumed = _load_resume(folder)
            opts = resolve(given, resumed[3]["args"])
            check(opts, given)
            _check_epochs_left(opts, resumed[3], given, args.resume)
            _check_folder_options(opts, args)
        folder.check_fresh()
        folder.keep(opts["keep"])
        return _train(args, opts, given, folder, resumed)


def _train(args, opts, given, folder: RunFolder, resumed) -> int:
    quiet = args.quiet
    say = (lambda *a: None) if quiet else print
    saved = resumed[3] if resumed else None
    try:
        dataset = data.load(opts["data"], seed=opts["seed"], n=opts["n"])
    except InitlabError as exc:       # a malformed MNIST file, a resumed run's data moved, ...
        source = "--data" if saved is None or args.data else f"--data {opts['data']} (the resumed run's)"
        raise named(source, exc) from None
    check_splits(dataset, opts)
    weights_rng, order_rng = seeds(opts["seed"])
    if saved is None:
        model = build_model(opts, dataset, weights_rng)
        optimizer = build_optimizer(opts, model, dataset)
        if (note := initializers.cannot_learn(opts["init"], "--init")) is not None:
            print(f"initlab: note: {note}", file=sys.stderr)
    else:
        path, model, optimizer, _ = resumed
        apply_overrides(optimizer, opts, given)
        say(f"resuming from {path} (epoch {saved['train']['epoch'] + 1}, step {saved['train']['step']})")
    if not quiet:
        print_data(dataset)
        print_model(model, dataset)

    if folder.folder is not None and opts["checkpoint_every"] is None:
        opts["checkpoint_every"] = [1, "epoch"]
    history = History.from_dict(saved["train"]["history"]) if saved is not None else None
    say(header())
    for i in range(len(history.epoch) if history else 0):
        say(row(history, i))

    # a live bar redirects stdout onto its own console (stderr): show it only when both are
    # terminals, so that `initlab train > log` keeps every row in the log
    show_bar = not quiet and sys.stdout.isatty() and sys.stderr.isatty()
    loss_fn = SoftmaxCrossEntropy()
    payload = lambda state: dict(args=opts, train=state.resume_info(), epoch=state.epoch, step=state.step)
    # numerical warnings would precede a DivergenceError, which names the first bad layer itself
    with _Interrupt() as interrupt, np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        with ui.progress(show_bar) as bar:
            callbacks = [Progress(bar, quiet), Checkpoints(folder, opts["checkpoint_every"], payload, interrupt)]
            try:
                history = fit(model, loss_fn, optimizer, dataset.train, dataset.val, epochs=opts["epochs"],
                              batch_size=opts["batch_size"], rng=order_rng, callbacks=callbacks,
                              clip_grad_norm=opts["clip_grad_norm"], resume=saved["train"] if saved else None)
            except KeyboardInterrupt:
                return _stopped("aborted", folder.saved_path)
        if interrupt.requested and len(history.epoch) < opts["epochs"]:
            return _stopped(f"interrupted after step {history.step}", folder.saved_path)
        test_loss, test_acc = evaluate(model, loss_fn, *dataset.test)
        if args.save is not None:
            with getattr(interrupt, "deferred", contextlib.nullcontext)():
                folder.save_model(model, args=opts, history=history.to_dict(), test_accuracy=test_acc,
                                  test_loss=test_loss, input=trained.input_spec(dataset))
            say(f"saved model to {args.save}")
    print(f"test accuracy: {test_acc:.4f}")
    return 0


def _stopped(what: str, path) -> int:
    """After Ctrl-C: name the checkpoint written last (durable: written atomically) and how to go on."""
    if path is None:
        print(f"initlab: {what}; no checkpoint of this run was written", file=sys.stderr)
    else:
        kept = "checkpoint written to" if what != "aborted" else "the last checkpoint written is kept:"
        print(f"initlab: {what}; {kept} {path}\nresume with: initlab train --resume {path.parent}",
              file=sys.stderr)
    return 130
