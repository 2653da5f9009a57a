"""The workloads of the suite. Each `run_*` returns one JSON-able record for one thread count.

A record: {"workload", "case", "label", "threads", "sides": {name: summary or {"error"}},
"ratio": paired ratio of the two sides or None, "rate": {name: throughput}, "check": a
correctness note, "target": {...}, "met": bool or None}. A side that fails is recorded with
its error; the other side is still timed, so the table always has a row.
"""
from dataclasses import dataclass

import numpy as np

from . import initlab_side, peer
from .timing import describe_error, interleave, paired_ratio, summary


@dataclass(frozen=True)
class Settings:
    """How hard to time: `quick` runs are smoke tests, full runs are for the README."""
    rounds: int = 21
    warmup: int = 3
    min_rounds: int = 5
    budget_s: float = 8.0
    peer_rounds: int = 7
    peer_min_rounds: int = 3
    memory_steps: int = 200
    settle_s: float = 0.2      # pause before each sample when more than one thread runs

    @classmethod
    def quick(cls):
        return cls(rounds=3, warmup=1, min_rounds=2, budget_s=1.0, peer_rounds=2,
                   peer_min_rounds=1, memory_steps=20)


# (N, C, H, W, out_channels, kernel, stride, padding) -- the four layers issue 5 names.
CONV_CASES = {
    "a": (64, 1, 28, 28, 6, 5, 1, 0),
    "b": (64, 6, 12, 12, 16, 5, 1, 0),
    "c": (32, 64, 32, 32, 64, 3, 1, 1),
    "d": (128, 16, 8, 8, 16, 3, 1, 1),
}
CONV_TARGETS = {"a": 0.7, "b": 1.0, "c": 1.1, "d": 1.2}
CONV_PEAK_TARGET = {"c": 0.5}
TRAIN_TARGETS = {"lenet": 1.0, "deep": 1.2}
PEER_SPEEDUP_TARGET = {"c": 5.0, "d": 5.0}


def conv_label(case: str) -> str:
    n, c, h, w, o, k, _, p = CONV_CASES[case]
    return f"conv ({case}) N={n} {c}->{o} {h}x{w} {k}x{k}" + (f" pad {p}" if p else "")


def conv_arrays(case: str, seed=0):
    """float32 input, weight, bias and upstream gradient for one conv case."""
    n, c, h, w, o, k, s, p = CONV_CASES[case]
    rng = np.random.default_rng(seed)
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    x = rng.standard_normal((n, c, h, w), dtype=np.float32)
    weight = rng.standard_normal((o, c, k, k), dtype=np.float32) * np.float32(np.sqrt(2 / (c * k * k)))
    bias = rng.standard_normal(o, dtype=np.float32) * np.float32(0.1)
    grad_y = rng.standard_normal((n, o, oh, ow), dtype=np.float32)
    return x, weight, bias, grad_y


def conv_gflop(case: str) -> float:
    """Forward + backward work: 3 * 2*N*OC*OH*OW*IC*KH*KW flops, in GFLOP."""
    n, c, h, w, o, k, s, p = CONV_CASES[case]
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    return 3 * 2 * n * o * oh * ow * c * k * k / 1e9


def _build(builders: dict):
    """Call each side's builder; a failure becomes that side's error instead of a crash."""
    sides, errors = {}, {}
    for name, build in builders.items():
        try:
            sides[name] = build()
        except Exception as exc:  # noqa: BLE001
            errors[name] = describe_error(exc)
    return sides, errors


def _time(sides, errors, settings, threads, *, peer_like=False):
    rounds = settings.peer_rounds if peer_like else settings.rounds
    min_rounds = settings.peer_min_rounds if peer_like else settings.min_rounds
    samples, calls, timing_errors = interleave(
        sides, rounds=rounds, warmup=1 if peer_like else settings.warmup,
        min_rounds=min_rounds, budget_s=settings.budget_s,
        settle_s=settings.settle_s if threads > 1 else 0.0)
    errors = {**errors, **timing_errors}
    stats = {name: summary(times) | {"calls_per_sample": calls[name]} for name, times in samples.items()}
    stats |= {name: {"error": message} for name, message in errors.items()}
    return samples, stats


def _max_rel_diff(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30))


def _agreement(outputs_a, outputs_b, tol=1e-3) -> str:
    """'agree (max rel diff 2e-07)' when every pair of arrays matches to `tol`, relative."""
    worst = max(_max_rel_diff(a, b) for a, b in zip(outputs_a, outputs_b))
    return f"{'agree' if worst < tol else 'DISAGREE'} (max rel diff {worst:.1e})"


def _flatten_conv(result):
    y, (gx, gw, gb) = result
    return [np.asarray(t.detach().numpy() if hasattr(t, "detach") else t) for t in (y, gx, gw, gb)]


def run_conv(case, threads, settings, torch_side, peak_gflops):
    """initlab vs PyTorch, conv forward + backward on one of the four shapes."""
    x, weight, bias, grad_y = conv_arrays(case)
    stride, padding = CONV_CASES[case][6], CONV_CASES[case][7]
    sides, errors = _build({
        "initlab": lambda: initlab_side.conv_step(x, weight, bias, grad_y, stride, padding),
        "torch": lambda: torch_side.conv_step(x, weight, bias, grad_y, stride, padding),
    })
    check = _check(lambda: _agreement(_flatten_conv(sides["initlab"]()), _flatten_conv(sides["torch"]())))
    samples, stats = _time(sides, errors, settings, threads)
    gflop = conv_gflop(case)
    rate = {name: {"gflops": gflop / (s["median_ms"] / 1e3),
                   "peak_fraction": gflop / (s["median_ms"] / 1e3) / peak_gflops}
            for name, s in stats.items() if "median_ms" in s}
    ratio = paired_ratio(samples["initlab"], samples["torch"]) if len(samples) == 2 else None
    met = None
    if ratio is not None:
        met = ratio["median"] <= CONV_TARGETS[case]
        if case in CONV_PEAK_TARGET:
            met = met and rate["initlab"]["peak_fraction"] >= CONV_PEAK_TARGET[case]
    target = {"ratio_at_most": CONV_TARGETS[case]}
    if case in CONV_PEAK_TARGET:
        target["peak_fraction_at_least"] = CONV_PEAK_TARGET[case]
    return {"workload": "conv", "case": case, "label": conv_label(case), "threads": threads,
            "gflop": gflop, "sides": stats, "ratio": ratio, "rate": rate, "check": check,
            "target": target, "met": met}


def run_peer(case, threads, settings):
    """initlab vs the textbook-style peer (bench/peer.py), conv forward + backward."""
    x, weight, bias, grad_y = conv_arrays(case)
    stride, padding = CONV_CASES[case][6], CONV_CASES[case][7]
    sides, errors = _build({
        "initlab": lambda: initlab_side.conv_step(x, weight, bias, grad_y, stride, padding),
        "peer": lambda: (lambda: peer.conv_forward_backward(x, weight, bias, grad_y, stride, padding)),
    })

    def compare():
        y, (gx, gw, gb) = sides["initlab"]()
        return _agreement([y, gx, gw, gb], sides["peer"]())

    check = _check(compare)
    samples, stats = _time(sides, errors, settings, threads, peer_like=True)
    speedup = paired_ratio(samples["peer"], samples["initlab"]) if len(samples) == 2 else None
    target = PEER_SPEEDUP_TARGET.get(case)
    met = None if speedup is None or target is None else speedup["median"] >= target
    return {"workload": "peer", "case": case, "label": conv_label(case).replace("conv", "peer", 1),
            "threads": threads, "gflop": conv_gflop(case), "sides": stats,
            "speedup": speedup, "check": check,
            "target": {"speedup_at_least": target} if target else None, "met": met}


def _check(fn) -> str:
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001
        return f"not checked ({describe_error(exc)})"


TRAINING = {
    # name: (label, batch, image size)
    "lenet": ("LeNet-5 train step, batch 64, 28x28", 64, 28),
    "deep": ("plain 30x conv3x3x16 train step, batch 128, 8x8", 128, 8),
}


def training_batch(batch, size, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, 1, size, size), dtype=np.float32)
    y = rng.integers(0, 10, size=batch)
    return x, y


def _initlab_model(kind):
    return initlab_side.lenet5(rng=0) if kind == "lenet" else initlab_side.plain_cnn(30, 16, rng=0)


def _torch_model(kind, torch_side):
    return torch_side.lenet5() if kind == "lenet" else torch_side.plain_cnn(30, 16)


def run_training(kind, threads, settings, torch_side):
    """initlab vs PyTorch: one SGD(momentum 0.9) training step, same architecture and weights."""
    label, batch, size = TRAINING[kind]
    x, y = training_batch(batch, size)
    torch_side.torch.manual_seed(0)
    models, errors = _build({"initlab": lambda: _initlab_model(kind),
                             "torch": lambda: _torch_model(kind, torch_side)})
    check = "not checked (a model failed to build)"
    if len(models) == 2:
        def same_weights_same_logits():
            torch_side.load_numpy_state(models["torch"], initlab_side.state_dict(models["initlab"]))
            return "same weights: logits " + _agreement(
                [initlab_side.forward(models["initlab"], x)], [torch_side.forward(models["torch"], x)])
        check = _check(same_weights_same_logits)
    steps, step_errors = _build({name: (lambda name=name: _step_on_batch(name, models[name], x, y,
                                                                      torch_side))
                                 for name in models})
    samples, stats = _time(steps, {**errors, **step_errors}, settings, threads)
    for name, step in steps.items():
        if "median_ms" in stats[name]:
            stats[name]["final_loss"] = _final_loss(step)
    rate = {name: {"images_per_s": batch / (s["median_ms"] / 1e3)}
            for name, s in stats.items() if "median_ms" in s}
    ratio = paired_ratio(samples["initlab"], samples["torch"]) if len(samples) == 2 else None
    return {"workload": kind, "case": "", "label": label, "threads": threads, "sides": stats,
            "ratio": ratio, "rate": rate, "check": check,
            "target": {"ratio_at_most": TRAIN_TARGETS[kind]},
            "met": None if ratio is None else ratio["median"] <= TRAIN_TARGETS[kind]}


def _step_on_batch(name, model, x, y, torch_side):
    trainer = (initlab_side if name == "initlab" else torch_side).trainer(model, lr=0.01, momentum=0.9)
    return lambda: trainer(x, y)


def _final_loss(step) -> float:
    """Loss of one more step: finite means the timed training did not blow up."""
    loss = step()
    return float(loss.item() if hasattr(loss, "item") else loss)
