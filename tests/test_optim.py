"""Optimizer trajectories equal their update formulas (and PyTorch's rules) in float64."""
import numpy as np
import pytest

from initlab import layers as L
from initlab.errors import InvalidValueError, UnknownNameError
from initlab.model import Sequential
import json

from initlab.optim import SGD, Adam, AdamW, build_optimizer
from initlab.schedules import CosineAnnealingLR, OneCycleLR, StepLR, Warmup


def setup(seed=0):
    rng = np.random.default_rng(seed)
    model = Sequential([L.Dense(3, 2, rng=rng, bias_init="normal(std=0.5)", dtype=np.float64)])
    grads = [rng.normal(size=(2, 3)) for _ in range(4)]
    return model, grads


def run(opt, model, grads):
    out = []
    for g in grads:
        model[0].grads = {"weight": g, "bias": g.sum(axis=1)}
        opt.step()
        out.append(model[0].params["weight"].copy())
    return out


@pytest.mark.parametrize("momentum,nesterov,wd,damp", [(0, False, 0, 0), (0.9, False, 0, 0), (0.9, True, 0.01, 0),
                                                       (0.8, False, 0.1, 0.3)])
def test_sgd_trajectory(momentum, nesterov, wd, damp):
    model, grads = setup()
    p = model[0].params["weight"].copy()
    got = run(SGD(model, lr=0.1, momentum=momentum, nesterov=nesterov, weight_decay=wd, dampening=damp), model, grads)
    buf = None
    for step, g in enumerate(grads):
        g = g + wd * p
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - damp) * g
            g = g + momentum * buf if nesterov else buf
        p = p - 0.1 * g
        np.testing.assert_allclose(got[step], p, rtol=0, atol=1e-12)


@pytest.mark.parametrize("wd", [0.0, 0.05])
def test_adam_trajectory(wd):
    model, grads = setup()
    p = model[0].params["weight"].copy()
    got = run(Adam(model, lr=0.01, betas=(0.9, 0.99), eps=1e-8, weight_decay=wd), model, grads)
    m = v = 0
    for t, g in enumerate(grads, start=1):
        g = g + wd * p
        m = 0.9 * m + 0.1 * g
        v = 0.99 * v + 0.01 * g * g
        p = p - 0.01 * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.99 ** t)) + 1e-8)
        np.testing.assert_allclose(got[t - 1], p, rtol=0, atol=1e-12)


def test_frozen_layers_are_skipped():
    model, grads = setup()
    model[0].trainable = False
    before = model[0].params["weight"].copy()
    run(SGD(model, lr=1.0), model, grads)
    np.testing.assert_array_equal(model[0].params["weight"], before)


def test_state_dict_round_trip_continues_identically():
    model_a, grads = setup()
    model_b, _ = setup()
    a = Adam(model_a, lr=0.01)
    run(a, model_a, grads[:2])
    b = build_optimizer(model_b, a.config())
    model_b[0].params = {k: v.copy() for k, v in model_a[0].params.items()}
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(run(a, model_a, grads[2:])[-1], run(b, model_b, grads[2:])[-1])


def test_bad_optimizer_arguments():
    model, _ = setup()
    with pytest.raises(InvalidValueError, match="SGD lr"):
        SGD(model, lr=-1)
    with pytest.raises(InvalidValueError, match="nesterov"):
        SGD(model, lr=0.1, nesterov=True)
    with pytest.raises(InvalidValueError, match="Adam betas"):
        Adam(model, betas=(0.9, 1.0))
    with pytest.raises(InvalidValueError, match="no gradient"):
        SGD(model, lr=0.1).step()


def test_adam_keeps_float32_state_and_parameters():
    from initlab.models import small_cnn
    from initlab.losses import SoftmaxCrossEntropy
    model, loss = small_cnn(rng=0), SoftmaxCrossEntropy()
    opt = Adam(model, lr=1e-3)
    for _ in range(2):
        loss.forward(model.forward(np.ones((4, 1, 8, 8), np.float32)), np.arange(4))
        model.backward(loss.backward())
        before = model[0].params["weight"]
        opt.step()
        assert model[0].params["weight"] is before   # updated in place, never replaced by float64
    assert all(v.dtype == np.float32 for s in opt.state.values() for v in s.values())


def test_a_state_with_half_of_a_parameters_buffers_is_refused():
    model = Sequential([L.Dense(2, 3, rng=0)])
    model.forward(np.ones((1, 2)))
    model.backward(np.ones((1, 3)))
    adam = Adam(model)
    adam.step()
    partial = {k: v for k, v in adam.state_dict().items() if not k.endswith("exp_avg_sq")}
    with pytest.raises(InvalidValueError, match=r"'0.weight' has \['exp_avg'\] but not \['exp_avg_sq'\]"):
        adam.load_state_dict(partial)       # (it loaded, then step() failed with a KeyError)


# ------------------------------------------------------------------ amsgrad, AdamW, parameter groups

@pytest.mark.parametrize("wd", [0.0, 0.05])
def test_adam_amsgrad_trajectory(wd):
    model, grads = setup()
    grads = [g * s for g, s in zip(grads, (3.0, 0.1, 2.0, 0.01))]   # shrinking v: the max matters
    p = model[0].params["weight"].copy()
    got = run(Adam(model, lr=0.01, betas=(0.9, 0.99), weight_decay=wd, amsgrad=True), model, grads)
    m = v = v_max = 0
    for t, g in enumerate(grads, start=1):
        g = g + wd * p
        m = 0.9 * m + 0.1 * g
        v = 0.99 * v + 0.01 * g * g
        v_max = np.maximum(v_max, v)
        p = p - 0.01 * (m / (1 - 0.9 ** t)) / (np.sqrt(v_max / (1 - 0.99 ** t)) + 1e-8)
        np.testing.assert_allclose(got[t - 1], p, rtol=0, atol=1e-12)
    plain_model, _ = setup()
    plain = run(Adam(plain_model, lr=0.01, betas=(0.9, 0.99), weight_decay=wd), plain_model, grads)
    assert not np.allclose(plain[-1], got[-1])      # the option changes the trajectory


def test_adamw_decays_the_weights_apart_from_the_gradient():
    model, grads = setup()
    p = model[0].params["weight"].copy()
    got = run(AdamW(model, lr=0.01, betas=(0.9, 0.99), weight_decay=0.1), model, grads)
    m = v = 0
    for t, g in enumerate(grads, start=1):
        p = p * (1 - 0.01 * 0.1)
        m = 0.9 * m + 0.1 * g
        v = 0.99 * v + 0.01 * g * g
        p = p - 0.01 * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.99 ** t)) + 1e-8)
        np.testing.assert_allclose(got[t - 1], p, rtol=0, atol=1e-12)
    assert AdamW(model).weight_decay == 0.01 and AdamW(model).config()["name"] == "adamw"


def test_parameter_groups_give_their_parameters_their_own_lr_and_weight_decay():
    model, grads = setup()
    w, b = model[0].params["weight"].copy(), model[0].params["bias"].copy()
    opt = SGD(model, lr=0.1, weight_decay=0.5, param_groups=[{"params": ["*.bias"], "weight_decay": 0.0, "lr": 0.3}])
    run(opt, model, grads)
    for g in grads:
        w = w - 0.1 * (g + 0.5 * w)
        b = b - 0.3 * g.sum(axis=1)
    np.testing.assert_allclose(model[0].params["weight"], w, rtol=0, atol=1e-12)
    np.testing.assert_allclose(model[0].params["bias"], b, rtol=0, atol=1e-12)


def test_bad_parameter_groups_are_refused_naming_the_group():
    model, _ = setup()
    with pytest.raises(InvalidValueError, match=r"SGD param_groups\[0\] params: '\*.gamma' names no parameter"):
        SGD(model, param_groups=[{"params": ["*.gamma"]}])
    with pytest.raises(InvalidValueError, match=r"param_groups\[1\] params: '0.bias' is already in group 0"):
        SGD(model, param_groups=[{"params": ["*.bias"]}, {"params": ["0.*"]}])
    with pytest.raises(InvalidValueError, match=r"Adam param_groups\[0\] lr: expected a value in \(0, inf\)"):
        Adam(model, param_groups=[{"params": "0.bias", "lr": -1}])
    with pytest.raises(UnknownNameError, match=r"unknown option of SGD param_groups\[0\] 'momentun'"):
        SGD(model, param_groups=[{"params": ["0.bias"], "momentun": 0.9}])
    with pytest.raises(InvalidValueError, match="Adam amsgrad: expected True or False"):
        Adam(model, amsgrad="yes")
    with pytest.raises(InvalidValueError, match="AdamW weight_decay"):
        AdamW(model, weight_decay=-0.1)


def test_amsgrad_groups_and_schedule_survive_config_and_state_dict():
    model_a, grads = setup()
    model_b, _ = setup()
    a = AdamW(model_a, lr=0.01, amsgrad=True, param_groups=[{"params": ["*.bias"], "weight_decay": 0.0}],
              schedule=CosineAnnealingLR(T_max=3, eta_min=1e-4))
    run(a, model_a, grads[:2])
    assert "0.weight.max_exp_avg_sq" in a.state_dict()
    b = build_optimizer(model_b, json.loads(json.dumps(a.config())))
    model_b[0].params = {k: v.copy() for k, v in model_a[0].params.items()}
    b.load_state_dict(a.state_dict())
    assert b.config() == a.config() and b.lr_at() == a.lr_at()
    np.testing.assert_array_equal(run(a, model_a, grads[2:])[-1], run(b, model_b, grads[2:])[-1])


def test_a_schedule_sets_each_steps_learning_rate():
    model, grads = setup()
    w = model[0].params["weight"].copy()
    schedule = StepLR(step_size=2, gamma=0.5)
    run(SGD(model, lr=0.4, schedule=schedule), model, grads)
    for t, g in enumerate(grads):
        w = w - 0.4 * 0.5 ** (t // 2) * g
    np.testing.assert_allclose(model[0].params["weight"], w, rtol=0, atol=1e-12)


# ------------------------------------------------------------------ against PyTorch

def _torch():
    try:
        import torch
    except ImportError as exc:
        pytest.skip(f"torch is not installed ({exc}); pip install -e '.[bench]' to run it")
    return torch


def _torch_trajectory(torch, make, model, grads, sched=None):
    """The weights torch's optimizer reaches from the same start and gradients (float64)."""
    w = torch.nn.Parameter(torch.tensor(model[0].params["weight"]))
    b = torch.nn.Parameter(torch.tensor(model[0].params["bias"]))
    opt = make([w, b])
    scheduler = None if sched is None else sched(opt)
    out = []
    for g in grads:
        w.grad, b.grad = torch.tensor(g), torch.tensor(g.sum(axis=1))
        opt.step()
        if scheduler is not None:
            scheduler.step()
        out.append(w.detach().numpy().copy())
    return out


@pytest.mark.parametrize("name", ["adam_amsgrad", "adamw", "adamw_amsgrad", "sgd_groups", "adam_groups_onecycle",
                                  "sgd_cosine"])
def test_optimizers_match_pytorch(name):
    torch = _torch()
    model, grads = setup(1)
    grads = [g * s for g, s in zip(grads * 3, (3.0, 0.1, 2.0, 0.01) * 3)]
    opt_t = torch.optim
    sched = None
    if name == "adam_amsgrad":
        ours = Adam(model, lr=0.01, weight_decay=0.1, amsgrad=True)
        make = lambda p: opt_t.Adam(p, lr=0.01, weight_decay=0.1, amsgrad=True)
    elif name.startswith("adamw"):
        ams = name.endswith("amsgrad")
        ours = AdamW(model, lr=0.01, weight_decay=0.3, amsgrad=ams)
        make = lambda p: opt_t.AdamW(p, lr=0.01, weight_decay=0.3, amsgrad=ams)
    elif name == "sgd_groups":
        ours = SGD(model, lr=0.1, momentum=0.9, weight_decay=0.2,
                   param_groups=[{"params": ["0.bias"], "weight_decay": 0.0, "lr": 0.05}])
        make = lambda p: opt_t.SGD([{"params": [p[0]]}, {"params": [p[1]], "weight_decay": 0.0, "lr": 0.05}],
                                   lr=0.1, momentum=0.9, weight_decay=0.2)
    elif name == "adam_groups_onecycle":
        ours = AdamW(model, lr=0.02, param_groups=[{"params": ["*.bias"], "lr": 0.1}],
                     schedule=OneCycleLR(total_steps=12, pct_start=0.25))
        make = lambda p: opt_t.AdamW([{"params": [p[0]]}, {"params": [p[1]], "lr": 0.1}], lr=0.02)
        sched = lambda o: opt_t.lr_scheduler.OneCycleLR(o, max_lr=[0.02, 0.1], total_steps=12, pct_start=0.25,
                                                        cycle_momentum=False)
    else:
        ours = SGD(model, lr=0.1, momentum=0.5, schedule=Warmup(3, CosineAnnealingLR(T_max=9, eta_min=0.01)))
        make = lambda p: opt_t.SGD(p, lr=0.1, momentum=0.5)
        sched = lambda o: opt_t.lr_scheduler.SequentialLR(o, [
            opt_t.lr_scheduler.LinearLR(o, start_factor=1 / 3, total_iters=3),
            opt_t.lr_scheduler.CosineAnnealingLR(o, T_max=9, eta_min=0.01)], milestones=[3])
    expected = _torch_trajectory(torch, make, model, grads, sched)
    got = run(ours, model, grads)
    for t in range(len(grads)):
        np.testing.assert_allclose(got[t], expected[t], rtol=1e-10, atol=1e-12, err_msg=f"step {t}")
