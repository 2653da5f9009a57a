"""Optimizer trajectories equal their update formulas (and PyTorch's rules) in float64."""
import numpy as np
import pytest

from initlab import layers as L
from initlab.errors import InvalidValueError
from initlab.model import Sequential
from initlab.optim import SGD, Adam, build_optimizer


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
