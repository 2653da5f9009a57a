"""The studies' one training loop: steps over passes, callbacks, non-finite losses, no endless loop."""
import signal
from contextlib import contextmanager

import numpy as np
import pytest

from initlab import data as D
from initlab.errors import DivergenceError, InvalidValueError
from initlab.experiments import depth, filters, prefilters, symmetry, training, zero_mean
from initlab.models import small_cnn
from initlab.optim import SGD


@contextmanager
def no_hang(seconds=20):
    """Fail (instead of hanging the suite) if the block runs for more than `seconds`."""
    def give_up(*_):
        raise TimeoutError(f"still running after {seconds} s: an endless loop?")
    previous = signal.signal(signal.SIGALRM, give_up)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="module")
def digits():
    ds = D.load("digits", n=120)
    return ds.train


def net(seed=0):
    return small_cnn(1, 10, (8, 8), rng=seed)


def test_batches_per_pass():
    assert training.batches_per_pass(10, 3) == 4
    assert training.batches_per_pass(10, 3, drop_last=True) == 3
    with pytest.raises(InvalidValueError, match="n_train"):
        training.batches_per_pass(0, 3)
    with pytest.raises(InvalidValueError, match="study: batch_size.*at most the 10"):
        training.batches_per_pass(10, 11, drop_last=True, where="study")


def test_an_empty_training_set_is_an_error_not_an_endless_loop(digits):
    x, y = digits
    model = net()
    with no_hang(), pytest.raises(InvalidValueError, match="n_train"):
        training.train_steps(model, (x[:0], y[:0]), SGD(model, lr=0.1), steps=5, batch_size=8, rng=0)


def test_full_batches_larger_than_the_data_are_an_error(digits):
    x, y = digits
    model = net()
    with no_hang(), pytest.raises(InvalidValueError, match="batch_size"):
        training.train_steps(model, (x, y), SGD(model, lr=0.1), steps=5, batch_size=len(x) + 1, rng=0,
                             drop_last=True)


def test_steps_run_over_several_passes_with_the_batches_of_data_batches(digits):
    x, y = digits[0][:20], digits[1][:20]
    seen = []

    class Recorder:
        """A model stand-in that records the batches it is given."""
        def __init__(self):
            self.inner = net()

        def forward(self, xb, training=True):
            seen.append(xb.copy())
            return self.inner.forward(xb, training)

        def backward(self, grad):
            return self.inner.backward(grad)

    model = Recorder()
    losses = training.train_steps(model, (x, y), SGD(model.inner, lr=0.01), steps=7, batch_size=8,
                                  rng=np.random.default_rng(3))
    assert losses.shape == (7,) and np.isfinite(losses).all()
    rng = np.random.default_rng(3)
    expected = [xb for _ in range(3) for xb, _ in D.batches(x, y, 8, rng=rng)][:7]   # passes of 8, 8, 4
    assert [len(b) for b in seen] == [8, 8, 4, 8, 8, 4, 8]
    for got, want in zip(seen, expected):
        np.testing.assert_array_equal(got, want)


def test_snapshots_and_early_stop(digits):
    model = net()
    snaps, calls = [], []

    def on_step(step, losses):
        calls.append((step, len(losses)))
        return step == 5

    losses = training.train_steps(model, digits, SGD(model, lr=0.01), steps=9, batch_size=16, rng=0, every=2,
                                  on_snapshot=snaps.append, on_step=on_step)
    assert snaps == [0, 2, 4, 5] and len(losses) == 5
    assert calls == [(s, s) for s in range(1, 6)]
    snaps.clear()
    training.train_steps(model, digits, SGD(model, lr=0.01), steps=7, batch_size=16, rng=0, every=3,
                         on_snapshot=snaps.append)
    assert snaps == [0, 3, 6, 7]


@pytest.mark.parametrize("mode", training.NONFINITE)
def test_a_non_finite_loss(digits, mode):
    model = small_cnn(1, 10, (8, 8), weight_init="normal(std=40.0)", rng=0)
    run = dict(steps=30, batch_size=16, rng=0)
    if mode == "raise":
        with pytest.raises(DivergenceError, match="study: the loss became"):
            training.train_steps(model, digits, SGD(model, lr=50.0), nonfinite=mode, where="study", **run)
        return
    losses = training.train_steps(model, digits, SGD(model, lr=50.0), nonfinite=mode, **run)
    first_bad = int(np.flatnonzero(~np.isfinite(losses))[0])
    if mode == "stop":
        assert len(losses) == first_bad + 1
    else:
        assert len(losses) == 30


def test_accuracy(digits):
    class Fixed:
        def predict(self, x):
            out = np.zeros((len(x), 3))
            out[:, 1] = 1
            return out
    assert training.accuracy(Fixed(), np.zeros((4, 1)), np.array([1, 1, 0, 2])) == 0.5


def test_every_study_trains_through_the_one_loop():
    for study in (symmetry, zero_mean, filters, prefilters, depth):
        assert study.train_steps is training.train_steps, study.__name__
    for study in (symmetry, zero_mean, filters, prefilters):
        assert study.accuracy is training.accuracy, study.__name__
    assert not hasattr(prefilters, "_accuracy")


def test_depth_steps_to_threshold_is_the_first_trailing_mean_below(digits):
    """The depth study trains for the whole budget; the step it reports is the first at which
    the mean of the last `window` losses is below the threshold (brute force here)."""
    from initlab.experiments.training import train_steps
    from initlab.optim import SGD
    x, y = digits
    model = depth.build(2, "he_normal", width=4, rng=0)
    losses = train_steps(model, (x, y), SGD(model, lr=0.02, momentum=0.9), steps=60, batch_size=16, rng=0,
                         drop_last=True).tolist()
    reached = depth.steps_to_threshold(losses, 2.2, 4)
    brute = next(n for n in range(4, 61) if np.mean(losses[n - 4:n]) < 2.2)
    assert reached == brute and len(losses) == 60
    assert depth.steps_to_threshold(losses, -1.0, 4) is None


def test_prefilters_curve_counts_epochs_of_steps(digits):
    x, y = digits
    w0 = prefilters.first_layer("he", x, 4, 3, np.random.default_rng(0), 100)
    model = prefilters.build_model(w0, 10, (8, 8), np.random.default_rng(1))
    steps, accs = prefilters.train_curve(model, (x[:50], y[:50]), (x[50:], y[50:]), epochs=2, batch_size=16,
                                         lr=0.01, momentum=0.9, eval_every=3, rng=0)
    assert steps == [0, 3, 6, 8] and len(accs) == 4          # 2 epochs of ceil(50 / 16) = 4 steps


def test_accuracy_on_an_empty_set_is_an_error_not_nan():
    model = small_cnn(1, 10, 8, rng=0)
    with pytest.raises(InvalidValueError, match="evaluation set is empty"):
        training.accuracy(model, np.zeros((0, 1, 8, 8), np.float32), np.zeros(0, int))


def test_prefilters_keeps_validation_images_for_a_tiny_training_set():
    result = prefilters.run(**{**prefilters.TINY, "datasets": ("shapes",), "n_train": 3, "epochs": 1})
    assert result["datasets"]["shapes"]["n_val"] > 0
