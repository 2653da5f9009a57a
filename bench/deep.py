"""Train a very deep vanilla CNN (no batch norm, no skips) on the scikit-learn digits.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python -m bench.deep --depth 1000 --epochs 10

The default is issue 15's target: 1,000 conv layers of width 16, tanh, delta-orthogonal
kernels at the tanh critical point (sigma_w^2 = 1, sigma_b^2 = 0, chi_1 = 1), a flatten +
dense head, Adam lr 3e-5, batch 32. Prints one JSON line per epoch (test accuracy, seconds,
peak resident memory so far) and, with --out, writes them all to a JSON file.

--segments K recomputes activations in K segments during backward (gradient checkpointing),
so training keeps ~K + L/K layers' caches. --init picks the control: gaussian (at the same
critical point; pass --sigma-w2 1.0855 to correct for zero padding on 8x8 maps), orthogonal
(flattened), he_relu (He-normal kernels, ReLU). --head average is Xiao et al.'s global
average pooling, which must learn spatial features through the whole stack and learns far
more slowly here. Scale the learning rate like 1 / depth (Adam moves every weight by ~lr per
step, and a near-isometric stack adds the layers' changes up): at 1,000 layers 3e-5 trains
and 1e-4 collapsed after five epochs; 3e-6 is the same step at 10,000 layers.
"""
import argparse
import json
import math
import sys
import time

import numpy as np

from initlab import data
from initlab.losses import SoftmaxCrossEntropy
from initlab.optim import Adam
from initlab.schedules import CosineAnnealingLR, Warmup
from initlab.theory import critical_sigma_w2, vanilla_cnn
from initlab.train import evaluate

INITS = ("delta_orthogonal", "gaussian", "orthogonal", "he_relu")


def peak_rss_mib() -> float:
    """This process's peak resident set (VmHWM), MiB."""
    with open("/proc/self/status", encoding="utf-8") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return math.nan


def build(args):
    if args.init == "he_relu":
        return vanilla_cnn(args.depth, args.width, activation="relu", kernel="he_normal",
                           in_channels=1, num_classes=10, rng=args.seed, head=args.head,
                           padding_mode=args.padding_mode)
    sigma_w2 = args.sigma_w2 if args.sigma_w2 is not None else critical_sigma_w2("tanh", args.sigma_b2)
    return vanilla_cnn(args.depth, args.width, activation="tanh", kernel=args.init, sigma_w2=sigma_w2,
                       sigma_b2=args.sigma_b2, in_channels=1, num_classes=10, rng=args.seed,
                       checkpoint_segments=args.segments or None, head=args.head,
                       padding_mode=args.padding_mode)


def schedule(args, n_train):
    """None (a constant rate), or a warm-up and/or a cosine decay over every step of the run."""
    total = args.epochs * math.ceil(n_train / args.batch)
    after = CosineAnnealingLR(total - args.warmup) if args.cosine else None
    if args.warmup:
        return Warmup(args.warmup, after)
    return after


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.deep", description=__doc__.splitlines()[0])
    p.add_argument("--depth", type=int, default=1000)
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--init", choices=INITS, default="delta_orthogonal")
    p.add_argument("--head", choices=("average", "flatten"), default="flatten",
                   help="flatten + dense (default, as LeNet), or global average pooling + dense (as Xiao et al.)")
    p.add_argument("--padding-mode", choices=("zeros", "circular"), default="zeros")
    p.add_argument("--sigma-b2", type=float, default=0.0)
    p.add_argument("--sigma-w2", type=float, default=None, help="default: the critical value for --sigma-b2")
    p.add_argument("--lr", type=float, default=3e-5)
    p.add_argument("--warmup", type=int, default=0, help="linear warm-up over this many steps")
    p.add_argument("--cosine", action="store_true", help="cosine decay to 0 over the whole run")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--epochs", type=int, default=7)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--segments", type=int, default=0, help="recompute in this many segments (0: plain backprop)")
    p.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (a memory probe)")
    p.add_argument("--eval-every", type=int, default=0, help="also print the test accuracy every this many steps")
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)

    ds = data.load("digits", seed=0)
    (x, y), (xt, yt) = ds.train, ds.test
    model = build(args)
    if args.init == "he_relu" and args.segments:
        model.checkpoint_segments = args.segments
    loss_fn, opt = SoftmaxCrossEntropy(), Adam(model, lr=args.lr, schedule=schedule(args, len(x)))
    rng = np.random.default_rng(args.seed)
    rows, start, steps = [], time.perf_counter(), 0
    probe = bool(args.max_steps)      # a memory probe: training steps only, no evaluation
    acc0 = math.nan if probe else evaluate(model, loss_fn, xt, yt, batch_size=256)[1]
    print(json.dumps({"epoch": 0, "test_acc": acc0, "peak_rss_mib": round(peak_rss_mib())}), flush=True)
    for epoch in range(1, args.epochs + 1):
        t0, losses = time.perf_counter(), []
        order = rng.permutation(len(x))
        for i in range(0, len(x), args.batch):
            idx = order[i:i + args.batch]
            logits = model.forward(x[idx])
            losses.append(loss_fn.forward(logits, y[idx]))
            model.backward(loss_fn.backward())
            opt.step()
            steps += 1
            if args.eval_every and steps % args.eval_every == 0:
                t_eval = time.perf_counter()
                row = {"step": steps, "test_acc": float(evaluate(model, loss_fn, xt, yt, batch_size=256)[1]),
                       "elapsed_s": round(time.perf_counter() - start, 1), "peak_rss_mib": round(peak_rss_mib())}
                rows.append(row)
                print(json.dumps(row), flush=True)
                t0 += time.perf_counter() - t_eval     # the epoch's seconds count training only
            if args.max_steps and steps >= args.max_steps:
                break
        train_s = time.perf_counter() - t0
        test_loss, acc = (math.nan, math.nan) if probe else evaluate(model, loss_fn, xt, yt, batch_size=256)
        row = {"epoch": epoch, "train_loss": float(np.mean(losses)), "test_loss": float(test_loss),
               "test_acc": float(acc), "epoch_s": round(train_s, 1), "s_per_step": round(train_s / len(losses), 3),
               "elapsed_s": round(time.perf_counter() - start, 1), "peak_rss_mib": round(peak_rss_mib())}
        rows.append(row)
        print(json.dumps(row), flush=True)
        if args.max_steps and steps >= args.max_steps:
            break
    result = {"args": vars(args), "epochs": rows}
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1)
    return result


if __name__ == "__main__":
    sys.exit(main() and 0)
