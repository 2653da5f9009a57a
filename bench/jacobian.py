"""Singular values of the input-output Jacobian at initialization of a deep vanilla conv stack.

    OMP_NUM_THREADS=1 python -m bench.jacobian --depth 200

Width 16 in and out, 8x8 images, zero padding 1, float64; the exact 1024 x 1024 Jacobian of
the conv/activation stack (before pooling) at one input drawn at the tanh fixed point,
x = tanh(sqrt(q0) z), q0 = q* (or --q0 where q* = 0). Prints one JSON line per init: the
condition number, the fraction of singular values within 10x of their rms, and the
mean-field prediction of mean(s^2).
"""
import argparse
import json
import math
import time

import numpy as np

from initlab import spectrum, theory

CASES = {
    "delta_orthogonal critical sigma_b2=1e-5": dict(kernel="delta_orthogonal", sigma_b2=1e-5),
    "gaussian critical sigma_b2=1e-5": dict(kernel="gaussian", sigma_b2=1e-5),
    "orthogonal (flattened) critical sigma_b2=1e-5": dict(kernel="orthogonal", sigma_b2=1e-5),
    "he_normal relu": dict(kernel="he_normal", activation="relu"),
    "delta_orthogonal sigma_w2=1 sigma_b2=0": dict(kernel="delta_orthogonal", sigma_w2=1.0, sigma_b2=0.0),
    # the ReLU-orthogonal control: orthogonal kernels alone do not give ReLU isometry
    "delta_orthogonal relu critical sigma_w2=2": dict(kernel="delta_orthogonal", activation="relu", sigma_b2=0.0),
    "gaussian sigma_w2=1 sigma_b2=0": dict(kernel="gaussian", sigma_w2=1.0, sigma_b2=0.0),
}


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.jacobian", description=__doc__.splitlines()[0])
    p.add_argument("--depth", type=int, default=200)
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--q0", type=float, default=1e-3, help="input pre-activation variance where q* = 0")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--only", default=None, help="a substring of the case names to run")
    args = p.parse_args(argv)
    z = np.random.default_rng(args.seed).standard_normal((1, args.width, 8, 8))
    for name, case in CASES.items():
        if args.only and args.only not in name:
            continue
        case = dict(case)
        activation = case.pop("activation", "tanh")
        model = theory.vanilla_cnn(args.depth, args.width, activation=activation, in_channels=args.width,
                                   rng=args.seed, dtype=np.float64, **case)
        if activation == "relu":
            q0, x = 1.0, z
        else:
            s2 = case.get("sigma_w2") or theory.critical_sigma_w2("tanh", case["sigma_b2"])
            q_star = theory.fixed_point_q("tanh", s2, case["sigma_b2"])
            q0 = q_star if q_star > 0 else args.q0
            x = np.tanh(math.sqrt(q0) * z)
        t0 = time.perf_counter()
        s = spectrum.singular_values(model, x, stop=2 * args.depth)
        row = spectrum.summarize(s, predicted_mean_sq=spectrum.predicted_mean_sq(model, x))
        row.update(case=name, depth=args.depth, q0=q0, seconds=round(time.perf_counter() - t0, 1))
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
