"""Cross-entropy's PyTorch options: each against its formula, finite differences in float64,
and torch.nn.functional.cross_entropy where torch is installed."""
import numpy as np
import pytest

from initlab.errors import CallOrderError, InvalidValueError, ShapeError
from initlab.functional import log_softmax
from initlab.losses import SoftmaxCrossEntropy
from gradcheck import numeric_grad, relative_error

N, C = 6, 4
W = np.array([0.5, 2.0, 1.0, 3.0])


def example(seed=0):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(N, C)) * 2
    y = np.array([0, 3, 1, -100, 2, 3])
    soft = rng.dirichlet(np.ones(C), size=N)
    return z, y, soft


def formula(z, y, weight=None, ignore_index=-100, eps=0.0, reduction="mean"):
    """The per-example loop of the docstring, written out."""
    log_p = log_softmax(z)
    w = np.ones(C) if weight is None else weight
    losses, denom = [], 0.0
    for n in range(len(z)):
        if y.ndim == 2:        # probabilities
            t = (1 - eps) * y[n] + eps / C
            losses.append(-np.sum(w * t * log_p[n]))
            denom += 1
        elif y[n] == ignore_index:
            losses.append(0.0)
        else:
            losses.append(-(1 - eps) * w[y[n]] * log_p[n, y[n]] - eps / C * np.sum(w * log_p[n]))
            denom += w[y[n]]
    losses = np.array(losses)
    return {"none": losses, "sum": losses.sum(), "mean": losses.sum() / denom}[reduction]


CASES = [dict(), dict(weight=W), dict(label_smoothing=0.2), dict(weight=W, label_smoothing=0.1),
         dict(reduction="sum"), dict(reduction="none", weight=W, label_smoothing=0.3),
         dict(ignore_index=3, reduction="mean"), dict(ignore_index=1, weight=W, reduction="none")]


def targets(case, y, soft):
    ignore = case.get("ignore_index", -100)
    hard = np.where(y == -100, ignore, y) if ignore != -100 else y
    out = [hard]
    if ignore == -100:
        out.append(soft)
    return out


@pytest.mark.parametrize("case", CASES, ids=str)
def test_the_options_equal_their_formula(case):
    z, y, soft = example()
    for target in targets(case, y, soft):
        got = SoftmaxCrossEntropy(**case).forward(z, target)
        expected = formula(z, target, case.get("weight"), case.get("ignore_index", -100),
                           case.get("label_smoothing", 0.0), case.get("reduction", "mean"))
        np.testing.assert_allclose(got, expected, rtol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_the_options_gradients_equal_finite_differences(case):
    z, y, soft = example(1)
    rng = np.random.default_rng(2)
    for target in targets(case, y, soft):
        loss = SoftmaxCrossEntropy(**case)
        out = loss.forward(z, target)
        upstream = rng.normal(size=np.shape(out)) if case.get("reduction") == "none" else None
        grad = loss.backward(upstream) if upstream is not None else loss.backward()
        f = (lambda: float(np.sum(loss.forward(z, target) * upstream))) if upstream is not None else \
            (lambda: loss.forward(z, target))
        idx = [np.unravel_index(i, z.shape) for i in range(z.size)]
        assert relative_error(np.array([grad[i] for i in idx]), numeric_grad(f, z, idx)).max() < 1e-6


def test_the_default_path_is_unchanged_and_equals_the_general_one():
    z, y, soft = example()
    y = np.where(y < 0, 0, y)
    plain = SoftmaxCrossEntropy()
    general = SoftmaxCrossEntropy(reduction="sum")
    assert plain.forward(z, y) == pytest.approx(general.forward(z, y) / N, rel=1e-14)
    np.testing.assert_allclose(plain.backward(), general.backward() / N, rtol=1e-13)
    onehot = np.eye(C)[y]                          # soft targets that are one-hot: the same loss
    assert plain.forward(z, onehot) == pytest.approx(SoftmaxCrossEntropy().forward(z, y), rel=1e-14)
    soft_grad = plain.backward()
    plain.forward(z, y)                            # back on the plain path: its own backward
    np.testing.assert_allclose(plain.backward(), soft_grad, rtol=1e-13)


def test_label_smoothing_one_is_the_uniform_target_and_an_all_ignored_mean_is_nan():
    z, _, _ = example()
    uniform = np.full((N, C), 1 / C)
    assert SoftmaxCrossEntropy(label_smoothing=1.0).forward(z, np.arange(N) % C) == \
        pytest.approx(SoftmaxCrossEntropy().forward(z, uniform))
    assert np.isnan(SoftmaxCrossEntropy(reduction="mean", weight=W).forward(z, np.full(N, -100)))
    assert SoftmaxCrossEntropy(reduction="sum", weight=W).forward(z, np.full(N, -100)) == 0.0


def test_bad_options_and_targets_are_one_line_errors_naming_the_argument():
    z, y, soft = example()
    cases = [(dict(reduction="avg"), r"SoftmaxCrossEntropy reduction: expected one of \['mean', 'sum', 'none'\], got 'avg'"),
             (dict(label_smoothing=1.5), r"SoftmaxCrossEntropy label_smoothing: expected a value in \[0, 1\]"),
             (dict(weight=[[1.0]]), "SoftmaxCrossEntropy weight: expected a 1-D array"),
             (dict(weight=[1.0, -1.0]), "SoftmaxCrossEntropy weight: expected a 1-D array of per-class weights >= 0"),
             (dict(ignore_index=1.5), "SoftmaxCrossEntropy ignore_index: expected an integer")]
    for options, message in cases:
        with pytest.raises(InvalidValueError, match=message):
            SoftmaxCrossEntropy(**options)
    with pytest.raises(ShapeError, match="weight: has 2 entries for 4 classes"):
        SoftmaxCrossEntropy(weight=[1.0, 2.0]).forward(z, np.zeros(N, int))
    with pytest.raises(ShapeError, match=r"class probabilities must have the logits' shape \(6, 4\)"):
        SoftmaxCrossEntropy(label_smoothing=0.1).forward(z, soft[:, :3])
    with pytest.raises(InvalidValueError, match="ignore_index: applies to integer labels"):
        SoftmaxCrossEntropy(ignore_index=0).forward(z, soft)
    with pytest.raises(Exception, match=r"labels must be in \[0, 4\)"):
        SoftmaxCrossEntropy(ignore_index=0).forward(z, y)          # -100 is a label here, out of range
    loss = SoftmaxCrossEntropy(reduction="none")
    with pytest.raises(CallOrderError):
        loss.backward()
    loss.forward(z, np.zeros(N, int))
    with pytest.raises(ShapeError, match=r"reduction 'none' takes the gradient of the 6 losses"):
        loss.backward(np.ones(3))


@pytest.mark.parametrize("case", CASES, ids=str)
def test_the_options_match_pytorch(case):
    try:
        import torch
    except ImportError as exc:
        pytest.skip(f"torch is not installed ({exc}); pip install -e '.[bench]' to run it")
    z, y, soft = example(3)
    options = dict(case)
    if "weight" in options:
        options["weight"] = torch.tensor(options["weight"])
    for target in targets(case, y, soft):
        zt = torch.tensor(z, requires_grad=True)
        out = torch.nn.functional.cross_entropy(zt, torch.tensor(target), **options)
        upstream = np.random.default_rng(4).normal(size=tuple(out.shape))
        out.backward(torch.tensor(upstream))
        loss = SoftmaxCrossEntropy(**case)
        np.testing.assert_allclose(loss.forward(z, target), out.detach().numpy(), rtol=1e-12)
        grad = loss.backward(upstream) if case.get("reduction") == "none" else loss.backward(float(upstream))
        np.testing.assert_allclose(grad, zt.grad.numpy(), rtol=1e-10, atol=1e-15)
