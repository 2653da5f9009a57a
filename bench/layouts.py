"""`python -m bench.layouts`: the fast convolution's two memory layouts, side by side.

For each layer shape, the fast convolution's forward+backward (`conv2d_forward(layout=...)`)
runs on the batch-last path and on the channels-last one, alternating; the table shows both
medians, their ratio and which path initlab picks by itself. It is the evidence behind that
choice (`convolution.conv_layout`): rerun it after changing either path. Inputs and
gradients are plain NCHW arrays, so both sides pay their layout copies, as in bench's conv rows.
"""
import argparse
import statistics

import numpy as np

from .timing import interleave, paired_ratio, pinned_threads

# (N, C_in, C_out, H = W, kernel, padding): bench's four, LeNet's and common wider ones
SHAPES = [
    (64, 1, 6, 28, 5, 0), (64, 6, 16, 12, 5, 0), (32, 64, 64, 32, 3, 1), (128, 16, 16, 8, 3, 1),
    (64, 8, 16, 14, 3, 1), (64, 8, 8, 28, 3, 1), (128, 4, 16, 8, 3, 1), (32, 3, 16, 32, 3, 1),
    (64, 16, 16, 28, 3, 1), (64, 16, 16, 14, 5, 2), (32, 32, 32, 16, 3, 1), (64, 32, 16, 14, 3, 1),
    (64, 64, 32, 14, 3, 1), (64, 32, 10, 8, 3, 1), (128, 16, 8, 8, 3, 1),
    (64, 16, 32, 8, 3, 1), (64, 16, 32, 14, 3, 1), (32, 32, 64, 16, 3, 1), (64, 32, 64, 14, 3, 1),
    (32, 64, 128, 8, 3, 1),
]


def _step(x, weight, bias, grad_y, padding, layout):
    """Forward and backward (input, weight, bias gradients) on one path, reusing a workspace
    as a Conv2D layer does while training."""
    from initlab.convolution import conv2d_backward, conv2d_forward
    workspace = {}

    def step():
        y, cache = conv2d_forward(x, weight, bias, 1, padding, workspace=workspace, layout=layout)
        return y, conv2d_backward(grad_y, cache)

    return step


def compare(shape, rounds, rng):
    from initlab import convolution
    n, c, o, h, k, p = shape
    x = rng.standard_normal((n, c, h, h), dtype=np.float32)
    weight = rng.standard_normal((o, c, k, k), dtype=np.float32) * np.float32((c * k * k) ** -0.5)
    bias = np.zeros(o, np.float32)
    grad_y = rng.standard_normal((n, o, h + 2 * p - k + 1, h + 2 * p - k + 1), dtype=np.float32)
    sides = {layout: _step(x, weight, bias, grad_y, p, layout) for layout in convolution.LAYOUTS}
    samples, _, errors = interleave(sides, rounds=rounds, budget_s=3.0)
    if errors:
        raise SystemExit(f"bench.layouts: {shape} failed: {errors}")
    chosen = convolution.conv_layout(c, o, k, 1, p)
    return {"shape": shape,
            "batch_last_ms": 1e3 * statistics.median(samples["batch-last"]),
            "channels_last_ms": 1e3 * statistics.median(samples["channels-last"]),
            "ratio": paired_ratio(samples["channels-last"], samples["batch-last"])["median"],
            "chosen": chosen}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.layouts", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    print("| N, C_in -> C_out, HxW, kernel, padding | batch-last ms | channels-last ms "
          "| channels-last / batch-last | initlab picks | faster one picked |")
    print("|---|---|---|---|---|---|")
    with pinned_threads(args.threads):
        for shape in SHAPES:
            row = compare(shape, args.rounds, rng)
            n, c, o, h, k, p = shape
            best = "channels-last" if row["ratio"] < 1 else "batch-last"
            print(f"| {n}, {c} -> {o}, {h}x{h}, {k}x{k}, {p} | {row['batch_last_ms']:.2f} "
                  f"| {row['channels_last_ms']:.2f} | {row['ratio']:.2f} | {row['chosen']} "
                  f"| {'yes' if best == row['chosen'] or abs(row['ratio'] - 1) < 0.05 else 'no'} |",
                  flush=True)


if __name__ == "__main__":
    main()
