"""Learning-rate schedules equal their formulas and torch.optim.lr_scheduler's rates, step by step."""
import json
import math

import numpy as np
import pytest

from initlab.errors import InvalidValueError, UnknownNameError
from initlab.schedules import (SCHEDULES, CosineAnnealingLR, ExponentialLR, LinearLR, MultiStepLR, OneCycleLR,
                               StepLR, Warmup, build_schedule)

BASE = 0.1


def rates(schedule, steps, base=BASE):
    return [schedule.lr(base, t) for t in range(steps)]


def test_step_multistep_exponential_formulas():
    assert rates(StepLR(3, gamma=0.5), 7) == [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025]
    assert rates(MultiStepLR([2, 5], gamma=0.1), 6) == pytest.approx([0.1, 0.1, 0.01, 0.01, 0.01, 0.001], rel=1e-15)
    assert rates(MultiStepLR([4, 2, 2], gamma=0.5), 5) == pytest.approx([0.1, 0.1, 0.025, 0.025, 0.0125])
    assert rates(ExponentialLR(0.9), 4) == pytest.approx([0.1, 0.09, 0.081, 0.0729], rel=1e-15)


def test_cosine_and_linear_formulas():
    cos = CosineAnnealingLR(T_max=4, eta_min=0.02)
    expected = [0.02 + 0.08 * (1 + math.cos(math.pi * t / 4)) / 2 for t in range(9)]
    assert rates(cos, 9) == pytest.approx(expected, rel=1e-15)
    assert cos.lr(BASE, 4) == pytest.approx(0.02) and cos.lr(BASE, 8) == pytest.approx(BASE)   # and back up
    assert rates(LinearLR(0.25, 1.0, total_iters=3), 5) == pytest.approx([0.025, 0.05, 0.075, 0.1, 0.1])


def test_warmup_ramps_then_hands_over_counted_from_its_end():
    w = Warmup(4, CosineAnnealingLR(T_max=10))
    assert rates(w, 4) == pytest.approx([BASE * (0.25 + 0.75 * t / 4) for t in range(4)])
    assert [w.lr(BASE, 4 + t) for t in range(11)] == rates(CosineAnnealingLR(T_max=10), 11)
    assert rates(Warmup(2), 4) == pytest.approx([0.05, 0.075, 0.1, 0.1], rel=1e-15)


def test_one_cycle_formula():
    s = OneCycleLR(total_steps=10, pct_start=0.3)    # rise over steps 0..2, fall over 2..9
    initial, low = BASE / 25, BASE / 25 / 1e4
    cos = lambda a, b, pct: b + (a - b) / 2 * (math.cos(math.pi * pct) + 1)
    expected = [cos(initial, BASE, t / 2) for t in range(3)] + [cos(BASE, low, (t - 2) / 7) for t in range(3, 10)]
    assert rates(s, 10) == pytest.approx(expected, rel=1e-15)
    assert s.lr(BASE, 2) == pytest.approx(BASE) and s.lr(BASE, 9) == pytest.approx(low)
    assert s.lr(BASE, 50) == s.lr(BASE, 9)                  # after the cycle: min_lr
    lin = OneCycleLR(total_steps=10, pct_start=0.3, anneal_strategy="linear", three_phase=True)
    assert lin.lr(BASE, 1) == pytest.approx((initial + BASE) / 2)
    assert lin.lr(BASE, 4) == pytest.approx(initial)      # back at initial at 2 * 0.3 * 10 - 2


@pytest.mark.parametrize("schedule", [StepLR(4), MultiStepLR([1, 3], 0.3), ExponentialLR(0.95),
                                      CosineAnnealingLR(7, 0.001), LinearLR(0.5, 0.9, 4), OneCycleLR(20),
                                      OneCycleLR(20, 0.4, "linear", 10, 100, True), Warmup(3, StepLR(2)),
                                      Warmup(5, start_factor=0.5)])
def test_config_rebuilds_the_same_schedule(schedule):
    again = build_schedule(json.loads(json.dumps(schedule.config())))
    assert type(again) is type(schedule) and again.config() == schedule.config()
    assert rates(again, 30) == rates(schedule, 30)


def test_bad_values_name_their_argument():
    cases = [(lambda: StepLR(0), "StepLR step_size: expected an integer >= 1, got 0"),
             (lambda: StepLR(2, gamma=-1), "StepLR gamma"),
             (lambda: MultiStepLR([]), "MultiStepLR milestones: expected a non-empty list"),
             (lambda: MultiStepLR([3, -1]), "MultiStepLR milestones: expected an integer >= 0, got -1"),
             (lambda: ExponentialLR(float("nan")), "ExponentialLR gamma: expected a finite real number"),
             (lambda: CosineAnnealingLR(0), "CosineAnnealingLR T_max"),
             (lambda: CosineAnnealingLR(5, eta_min=-1), "CosineAnnealingLR eta_min"),
             (lambda: LinearLR(start_factor=0), r"LinearLR start_factor: expected a value in \(0, 1\]"),
             (lambda: OneCycleLR(10, anneal_strategy="cosine"), "OneCycleLR anneal_strategy: expected 'cos' or"),
             (lambda: OneCycleLR(10, pct_start=0.05), "OneCycleLR pct_start: 0.05 of 10 steps leaves a phase"),
             (lambda: Warmup(0), "Warmup steps"),
             (lambda: Warmup(3, after="cosine"), "Warmup after: expected a schedule")]
    for make, message in cases:
        with pytest.raises(InvalidValueError, match=message):
            make()
    with pytest.raises(UnknownNameError, match="unknown schedule 'cosin'; did you mean 'cosine'"):
        build_schedule({"name": "cosin"})
    with pytest.raises(UnknownNameError, match="unknown parameter of schedule cosine 't_max'; did you mean 'T_max'"):
        build_schedule({"name": "cosine", "t_max": 3})


# ------------------------------------------------------------------ against PyTorch

def _torch_rates(make, steps, base=BASE):
    try:
        import torch
    except ImportError as exc:
        pytest.skip(f"torch is not installed ({exc}); pip install -e '.[bench]' to run it")
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=base)
    sched = make(torch.optim.lr_scheduler, opt)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


TORCH_CASES = {
    "step": (StepLR(3, 0.5), lambda S, o: S.StepLR(o, step_size=3, gamma=0.5)),
    "multistep": (MultiStepLR([2, 5, 5, 9], 0.3), lambda S, o: S.MultiStepLR(o, [2, 5, 5, 9], gamma=0.3)),
    "exponential": (ExponentialLR(0.93), lambda S, o: S.ExponentialLR(o, gamma=0.93)),
    "cosine": (CosineAnnealingLR(11, 0.004), lambda S, o: S.CosineAnnealingLR(o, T_max=11, eta_min=0.004)),
    "linear": (LinearLR(0.2, 0.7, 6), lambda S, o: S.LinearLR(o, start_factor=0.2, end_factor=0.7, total_iters=6)),
    "one_cycle": (OneCycleLR(25), lambda S, o: S.OneCycleLR(o, max_lr=BASE, total_steps=25, cycle_momentum=False)),
    "one_cycle_3": (OneCycleLR(25, 0.2, "linear", 10, 50, True),
                    lambda S, o: S.OneCycleLR(o, max_lr=BASE, total_steps=25, pct_start=0.2, anneal_strategy="linear",
                                              div_factor=10, final_div_factor=50, three_phase=True,
                                              cycle_momentum=False)),
    "warmup_cosine": (Warmup(5, CosineAnnealingLR(20), start_factor=0.1),
                      lambda S, o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, total_iters=5),
                                                      S.CosineAnnealingLR(o, T_max=20)], milestones=[5])),
}


@pytest.mark.parametrize("name", sorted(TORCH_CASES))
def test_rates_match_pytorch(name):
    ours, make = TORCH_CASES[name]
    steps = 25 if name.startswith("one_cycle") else 30
    np.testing.assert_allclose(rates(ours, steps), _torch_rates(make, steps), rtol=1e-12, atol=1e-16)


def test_every_schedule_is_compared_with_pytorch():
    assert {type(s).name for s, _ in TORCH_CASES.values()} == set(SCHEDULES)


# ------------------------------------------------------------------ in fit, through a checkpoint

def test_fit_resumed_through_a_checkpoint_follows_the_same_schedule_to_the_same_bits(tmp_path):
    from initlab import checkpoint, data, losses, optim, train
    from initlab import layers as L
    from initlab.model import Sequential

    ds = data.load("digits", seed=0, n=200)
    ce = losses.SoftmaxCrossEntropy()

    def net():
        return Sequential([L.Conv2D(1, 4, 3, padding=1, rng=3), L.ReLU(), L.MaxPool2D(2), L.Flatten(),
                           L.Dense(64, 10, rng=4)])

    class Saver:
        def on_batch_end(self, s):
            if s.step == 6:
                checkpoint.save(tmp_path / "mid.safetensors", s.model, s.optimizer, train=s.resume_info())

    model = net()
    opt = optim.AdamW(model, 0.01, amsgrad=True, param_groups=[{"params": ["*.bias"], "weight_decay": 0.0}],
                      schedule=Warmup(4, OneCycleLR(total_steps=8, pct_start=0.5)))
    full = train.fit(model, ce, opt, ds.train, ds.val, epochs=2, batch_size=32, rng=np.random.default_rng(1),
                     callbacks=[Saver()])
    assert opt.steps == 10 and opt.lr_at(11) == pytest.approx(0.01 / 25 / 1e4) and opt.lr_at(7) == pytest.approx(0.01)
    loaded, opt2, state = checkpoint.load(tmp_path / "mid.safetensors")
    assert opt2.config() == opt.config() and opt2.steps == 6
    resumed = train.fit(loaded, ce, opt2, ds.train, ds.val, epochs=2, batch_size=32,
                        rng=np.random.default_rng(0), resume=state["train"])
    for key, value in model.state_dict().items():
        assert np.array_equal(loaded.state_dict()[key], value), key
    assert resumed.deterministic() == full.deterministic()
