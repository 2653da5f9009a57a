"""initlab.train: the fit loop, evaluation, history, callbacks, divergence guard, clipping, resume."""
import copy
import json
import math
import warnings

import numpy as np
import pytest

from initlab import data, layers, losses, models, optim, train
from initlab.errors import DivergenceError, InvalidValueError, ShapeError
from initlab.model import Sequential

CE = losses.SoftmaxCrossEntropy


@pytest.fixture(scope="module")
def digits():
    return data.load("digits", seed=0)


def small_cnn(ds, seed=0, **kw):
    return models.build("small_cnn", in_channels=1, num_classes=ds.num_classes,
                        image_size=ds.image_size, rng=seed, **kw)


def tiny_net(seed=0, p=0.25):
    """conv -> relu -> dropout -> pool -> dense: covers a layer with its own rng."""
    rng = np.random.default_rng(seed)
    return Sequential([layers.Conv2D(1, 4, 3, padding=1, rng=rng), layers.ReLU(),
                       layers.Dropout(p, rng=rng), layers.MaxPool2D(2), layers.Flatten(),
                       layers.Dense(64, 10, rng=rng)])


def weights(model):
    return model.state_dict()


def assert_same_bits(a: dict, b: dict):
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].dtype == b[key].dtype and np.array_equal(a[key], b[key]), key


# ------------------------------------------------------------------------------ sanity

@pytest.mark.parametrize("model_name, dataset, init", [
    ("small_cnn", "digits", "glorot_uniform"), ("lenet5", "shapes", "pytorch_conv_default"),
])
def test_fresh_classifier_initial_loss_is_close_to_ln_classes(model_name, dataset, init):
    ds = data.load(dataset, seed=0, n=600)
    losses_ = []
    for seed in range(3):
        model = models.build(model_name, in_channels=1, num_classes=ds.num_classes,
                             image_size=ds.image_size, weight_init=init, rng=seed)
        losses_.append(train.evaluate(model, CE(), *ds.train)[0])
    assert abs(np.mean(losses_) - math.log(ds.num_classes)) < 0.1, losses_


def test_a_tiny_subset_is_overfit_to_100_percent(digits):
    x, y = digits.train[0][:24], digits.train[1][:24]
    model = small_cnn(digits)
    history = train.fit(model, CE(), optim.Adam(model, 3e-3), (x, y), epochs=40, batch_size=8, rng=0)
    loss, acc = train.evaluate(model, CE(), x, y)
    assert acc == 1.0 and loss < 0.01
    assert history.train_loss[-1] < history.train_loss[0] / 20


@pytest.mark.slow
def test_small_cnn_reaches_97_percent_on_digits(digits):
    model = small_cnn(digits)
    history = train.fit(model, CE(), optim.Adam(model, 2e-3), digits.train, digits.val,
                        epochs=6, batch_size=32, rng=0)
    _, test_acc = train.evaluate(model, CE(), *digits.test)
    assert test_acc >= 0.97, test_acc
    assert len(history.val_acc) == 6 and history.val_acc[-1] >= 0.93


@pytest.mark.slow
def test_lenet5_reaches_95_percent_on_shapes():
    ds = data.load("shapes", seed=0, n=2000)
    model = models.build("lenet5", in_channels=1, num_classes=ds.num_classes,
                         image_size=ds.image_size, rng=0)
    train.fit(model, CE(), optim.Adam(model, 2e-3), ds.train, epochs=8, batch_size=32, rng=0)
    _, test_acc = train.evaluate(model, CE(), *ds.test)
    assert test_acc >= 0.95, test_acc


# ------------------------------------------------------------------------------ history

def test_history_records_every_epoch_and_step_and_round_trips_through_json(digits):
    x, y = digits.train[0][:100], digits.train[1][:100]
    model = small_cnn(digits)
    h = train.fit(model, CE(), optim.SGD(model, 0.01), (x, y), digits.val, epochs=2, batch_size=32, rng=0)
    assert h.epoch == [1, 2] and h.step == 8 and len(h.batch_loss) == 8
    assert len(h.train_loss) == len(h.train_acc) == len(h.val_loss) == len(h.val_acc) == 2
    assert len(h.epoch_seconds) == 2 and h.seconds > 0
    # the epoch's train loss is the size-weighted mean of its batch losses (batches 32, 32, 32, 4)
    sizes = np.array([32, 32, 32, 4])
    assert h.train_loss[0] == pytest.approx(np.dot(h.batch_loss[:4], sizes) / 100, rel=1e-12)
    back = train.History.from_dict(json.loads(json.dumps(h.to_dict())))
    assert back == h
    no_val = train.fit(small_cnn(digits), CE(), optim.SGD(model, 0.01), (x, y), epochs=1, rng=0)
    assert no_val.val_loss == [] and no_val.val_acc == []


def test_evaluate_returns_mean_loss_and_accuracy_in_eval_mode(digits):
    model = tiny_net(p=0.5)
    x, y = digits.val
    a = train.evaluate(model, CE(), x, y, batch_size=7)
    b = train.evaluate(model, CE(), x, y, batch_size=1000)   # dropout is off: same numbers
    assert a[0] == pytest.approx(b[0], rel=1e-5) and a[1] == b[1]
    logits = model.forward(x, training=False)
    assert b[1] == np.mean(logits.argmax(1) == y)
    assert b[0] == pytest.approx(CE().forward(logits, y), rel=1e-6)


def test_callbacks_see_the_state_and_can_stop_training(digits):
    seen = []

    class Recorder:
        def on_train_begin(self, s):
            seen.append(("begin", s.step))

        def on_batch_end(self, s):
            seen.append(("batch", s.step, s.epoch, s.batch))
            assert s.model is model and s.history.batch_loss[-1] == s.loss
            if s.step == 5:
                s.stop = True

        def on_epoch_end(self, s):
            seen.append(("epoch", s.epoch))

        def on_train_end(self, s):
            seen.append(("end", s.step))

    model = small_cnn(digits)
    x, y = digits.train[0][:64], digits.train[1][:64]
    h = train.fit(model, CE(), optim.SGD(model, 0.01), (x, y), epochs=10, batch_size=16,
                  rng=0, callbacks=[Recorder(), object()])
    assert seen[0] == ("begin", 0) and seen[-1] == ("end", 5)
    assert ("epoch", 1) in seen and ("batch", 5, 1, 1) in seen
    assert h.step == 5 and h.epoch == [1]


# ------------------------------------------------------------------------------ reproducibility

def test_same_seed_same_bits_other_seed_differs(digits):
    x, y = digits.train[0][:200], digits.train[1][:200]

    def run(seed):
        model = tiny_net(seed)
        h = train.fit(model, CE(), optim.SGD(model, 0.05, momentum=0.9), (x, y), digits.val,
                      epochs=2, batch_size=16, rng=seed)
        return weights(model), h

    (wa, ha), (wb, hb), (wc, hc) = run(3), run(3), run(4)
    assert_same_bits(wa, wb)
    assert ha.deterministic() == hb.deterministic()
    assert not np.array_equal(wa["0.weight"], wc["0.weight"]) and ha.batch_loss != hc.batch_loss


def test_data_order_comes_only_from_rng(digits):
    """Two epochs see two permutations drawn from the rng, nothing else."""
    x = digits.train[0][:40]
    y = np.arange(40) % 10
    order = []

    class Spy(layers.Layer):
        def forward(self, xb, training=True):
            if training:
                order.append(np.array(xb[:, 0, 0, 0]))
            return xb

        def backward(self, g):
            return g

    model = Sequential([Spy(), layers.Flatten(), layers.Dense(64, 10, rng=0)])
    train.fit(model, CE(), optim.SGD(model, 0.01), (x, y), epochs=2, batch_size=40, rng=9)
    rng = np.random.default_rng(9)
    for epoch in range(2):
        assert np.array_equal(order[epoch], x[rng.permutation(40), 0, 0, 0])


@pytest.mark.parametrize("hook, at", [("on_batch_end", 7), ("on_epoch_end", 5)])
def test_resume_info_continues_bit_identically(digits, hook, at):
    """Capture everything after step 7 (mid-epoch 2) or at the end of epoch 1 (step 5), rebuild
    from the snapshot alone, resume: the same bits as a run straight through."""
    x, y = digits.train[0][:80], digits.train[1][:80]
    snap = {}

    class Snap:
        def capture(self, s):
            if s.step == at and not snap:
                snap.update(info=copy.deepcopy(s.resume_info()), weights=weights(s.model),
                            opt=copy.deepcopy(s.optimizer.state_dict()))

    setattr(Snap, hook, Snap.capture)
    model = tiny_net(1)
    full = train.fit(model, CE(), optim.Adam(model, 1e-3), (x, y), digits.val, epochs=3,
                     batch_size=16, rng=np.random.default_rng(5), callbacks=[Snap()])
    json.dumps(snap["info"])  # resume_info is plain JSON
    assert (snap["info"]["epoch"], snap["info"]["batch"]) == ((1, 2) if hook == "on_batch_end" else (1, 0))

    resumed_model = tiny_net(2)            # other seed: everything must come from the snapshot
    resumed_model.load_state_dict(snap["weights"])
    opt = optim.Adam(resumed_model, 1e-3)
    opt.load_state_dict(snap["opt"])
    resumed = train.fit(resumed_model, CE(), opt, (x, y), digits.val, epochs=3, batch_size=16,
                        rng=np.random.default_rng(123), resume=snap["info"])
    assert_same_bits(weights(model), weights(resumed_model))
    assert full.deterministic() == resumed.deterministic()


def test_resuming_mid_epoch_gathers_only_the_batches_still_to_do(digits, monkeypatch):
    x, y = digits.train[0][:80], digits.train[1][:80]
    snap = {}

    class Snap:
        def on_batch_end(self, s):
            if s.step == 7 and not snap:         # epoch 2 (index 1), after 2 of its 5 batches
                snap.update(info=copy.deepcopy(s.resume_info()), weights=weights(s.model),
                            opt=copy.deepcopy(s.optimizer.state_dict()))

    model = tiny_net(1)
    full = train.fit(model, CE(), optim.Adam(model, 1e-3), (x, y), epochs=3, batch_size=16,
                     rng=np.random.default_rng(5), callbacks=[Snap()])
    resumed_model = tiny_net(2)
    resumed_model.load_state_dict(snap["weights"])
    opt = optim.Adam(resumed_model, 1e-3)
    opt.load_state_dict(snap["opt"])
    gathered = []
    epoch_batches = train._epoch_batches

    def counting(*args):
        for xb, yb in epoch_batches(*args):
            gathered.append(len(xb))
            yield xb, yb

    monkeypatch.setattr(train, "_epoch_batches", counting)
    resumed = train.fit(resumed_model, CE(), opt, (x, y), epochs=3,
                        batch_size=16, rng=np.random.default_rng(0), resume=snap["info"])
    assert sum(gathered) == (80 - 2 * 16) + 80     # the rest of epoch 2, all of epoch 3
    assert_same_bits(weights(model), weights(resumed_model))
    assert full.deterministic() == resumed.deterministic()


def _resume_info(digits):
    x, y = digits.train[0][:32], digits.train[1][:32]
    snap = {}

    class Snap:
        def on_batch_end(self, s):
            snap.setdefault("info", copy.deepcopy(s.resume_info()))

    model = tiny_net(1)
    train.fit(model, CE(), optim.SGD(model, 0.01), (x, y), epochs=1, batch_size=16, rng=0,
              callbacks=[Snap()])
    return (x, y), snap["info"]


@pytest.mark.parametrize("change, message", [
    ({"history": None}, "lacks 'history'"),
    ({"epoch": None}, "lacks 'epoch'"),
    ({"epoch": "1"}, "field 'epoch': expected an integer >= 0, got '1'"),
    ({"batch": -1}, "field 'batch': expected an integer >= 0"),
    ({"batch": 7}, "batch 7 of an epoch, but an epoch here has 2 batches"),
    ({"epoch_sums": [1.0, 2]}, r"field 'epoch_sums': expected \[loss sum, correct, seen\]"),
    ({"history": [1]}, "field 'history': expected a History"),
    ({"history": {"epoch": 5}}, "field 'epoch': expected a list of numbers, got 5"),
    ({"history": {"step": "x"}}, "field 'step': expected an integer >= 0"),
    ({"layer_rngs": [1]}, "field 'layer_rngs': expected {layer index"),
    ({"layer_rngs": {"x": {}}}, "rng state for layer 'x', expected a layer index"),
    ({"layer_rngs": {"2": {"bit_generator": "PCG64"}}}, "layer 2 rng: saved PCG64 state is malformed"),
    ({"data_rng": "ab"}, "field 'data_rng': expected a bit-generator state or null"),
    ({"data_rng": {"bit_generator": "PCG64", "state": {"state": "x"}}}, "data-order rng: saved PCG64 state is malformed"),
])
def test_a_malformed_resume_info_names_the_field_and_what_was_expected(digits, change, message):
    pair, info = _resume_info(digits)
    bad = {**info, **change}
    bad = {k: v for k, v in bad.items() if v is not None or k == "data_rng"}
    model = tiny_net(1)
    with pytest.raises(InvalidValueError, match=message):
        train.fit(model, CE(), optim.SGD(model, 0.01), pair, epochs=2, batch_size=16,
                  rng=np.random.default_rng(0), resume=bad)
    with pytest.raises(InvalidValueError, match="expected the dict of TrainState.resume_info"):
        train.check_resume_info({"version": 1})


def test_history_and_start_epoch_continue_at_an_epoch_boundary(digits):
    x, y = digits.train[0][:64], digits.train[1][:64]
    rng = np.random.default_rng(0)
    model = small_cnn(digits)
    opt = optim.SGD(model, 0.01)
    h = train.fit(model, CE(), opt, (x, y), epochs=1, batch_size=32, rng=rng)
    h = train.fit(model, CE(), opt, (x, y), epochs=3, batch_size=32, rng=rng, history=h, start_epoch=1)
    assert h.epoch == [1, 2, 3] and h.step == 6 and len(h.batch_loss) == 6


# ------------------------------------------------------------------------------ divergence

def test_a_huge_learning_rate_raises_divergence_naming_step_epoch_and_layer(digits):
    model = small_cnn(digits)
    with warnings.catch_warnings():     # no RuntimeWarning noise before the message: an error
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(DivergenceError) as info:
            train.fit(model, CE(), optim.SGD(model, 1e6), digits.train, epochs=2, batch_size=32, rng=0)
    message = str(info.value)
    assert "step" in message and "epoch 1" in message
    assert "layer" in message and ("Conv2D" in message or "Dense" in message)


def test_a_nan_weight_is_reported_at_the_first_layer_it_reaches(digits):
    model = small_cnn(digits)
    model.layers[2].params["weight"][0, 0, 0, 0] = np.nan
    before = weights(model)
    with pytest.raises(DivergenceError, match=r"step 1 \(epoch 1, batch 1\).*layer 2 \(Conv2D\)"):
        train.fit(model, CE(), optim.SGD(model, 0.1), digits.train, epochs=1, rng=0)
    after = weights(model)
    assert all(np.array_equal(before[k], after[k], equal_nan=True) for k in before)  # no update


def test_a_nan_gradient_is_reported_with_its_parameter_and_nothing_is_updated(digits):
    model = small_cnn(digits)
    dense = model.layers[6]
    original = dense.backward

    def poisoned(grad, need_input_grad=True):
        out = original(grad, need_input_grad)
        dense.grads["bias"] = np.full_like(dense.grads["bias"], np.inf)
        return out

    dense.backward = poisoned
    before = weights(model)
    with pytest.raises(DivergenceError, match=r"gradient.*layer 6 \(Dense\) bias"):
        train.fit(model, CE(), optim.SGD(model, 0.1), digits.train, epochs=1, rng=0)
    assert_same_bits(before, weights(model))


# ------------------------------------------------------------------------------ clipping

def test_clip_grad_norm_bounds_the_global_norm_as_torch_does(digits):
    model = small_cnn(digits)
    limit = 0.5
    norms = []

    class Measure:
        def on_batch_end(self, s):
            norms.append((s.grad_norm, train.grad_norm(s.model)))

    train.fit(model, CE(), optim.SGD(model, 0.05), digits.train, epochs=1, batch_size=32, rng=0,
              clip_grad_norm=limit, callbacks=[Measure()])
    before, after = np.array(norms).T
    assert (before > limit).sum() > 5                        # clipping was active
    assert np.all(after <= limit * (1 + 1e-5))
    clipped = before > limit
    assert np.allclose(after[clipped], limit * before[clipped] / (before[clipped] + 1e-6), rtol=1e-5)
    assert np.allclose(after[~clipped], before[~clipped], rtol=1e-5)


def test_grad_norm_is_the_global_l2_norm_and_survives_float32_overflow(digits):
    model = small_cnn(digits)
    model.forward(digits.train[0][:8])
    model.backward(np.ones((8, 10), np.float32))
    grads = [layer.grads[n] for _, layer, n in model.named_parameters()]
    expected = math.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2)) for g in grads))
    assert train.grad_norm(model) == pytest.approx(expected, rel=1e-5)
    for g in grads:
        g[...] = 1e30                   # finite, but the float32 sum of squares overflows
    total = sum(g.size for g in grads)
    assert train.grad_norm(model) == pytest.approx(1e30 * math.sqrt(total), rel=1e-6)


def test_fit_checks_its_arguments(digits):
    model = small_cnn(digits)
    opt = optim.SGD(model, 0.1)
    with pytest.raises(InvalidValueError, match="epochs"):
        train.fit(model, CE(), opt, digits.train, epochs=0)
    with pytest.raises(InvalidValueError, match="start_epoch"):
        train.fit(model, CE(), opt, digits.train, epochs=2, start_epoch=3)
    with pytest.raises(InvalidValueError, match="resume"):
        train.fit(model, CE(), opt, digits.train, epochs=2, resume={"version": 99})


def test_a_dense_only_model_trains_on_feature_vectors_and_shapes_are_named(digits):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    model = Sequential([layers.Dense(4, 16, rng=0), layers.ReLU(), layers.Dense(16, 2, rng=1)])
    train.fit(model, CE(), optim.SGD(model, 0.1, momentum=0.9), (x, y), epochs=20, batch_size=32, rng=0)
    assert train.evaluate(model, CE(), x, y)[1] > 0.95
    with pytest.raises(ShapeError, match=r"train x of shape \(4, 8, 8\) does not fit the model: layer 0 \(Conv2D\)"):
        cnn = small_cnn(digits)
        train.fit(cnn, CE(), optim.SGD(cnn, 0.1), (np.zeros((4, 8, 8)), [0, 1, 2, 3]), epochs=1)
    with pytest.raises(ShapeError, match=r"train x: expected a batch of examples \(N, ...\)"):
        train.fit(model, CE(), optim.SGD(model, 0.1), (np.zeros(4), [0, 1, 2, 3]), epochs=1)



def _model_with_gradients(seed=0):
    model = Sequential([layers.Dense(3, 2, rng=seed, dtype=np.float64)])
    loss = losses.MSE()
    x = np.random.default_rng(seed).standard_normal((4, 3))
    loss.forward(model.forward(x), np.zeros((4, 2)))
    model.backward(loss.backward())
    return model


@pytest.mark.parametrize("max_norm", [-1.0, 0, 0.0, float("nan"), float("inf"), "1", None, True])
def test_clip_gradients_refuses_a_max_norm_that_is_not_finite_and_positive(max_norm):
    model = _model_with_gradients()
    before = model.layers[0].grads["weight"].copy()
    with pytest.raises(InvalidValueError, match=r"clip_gradients max_norm: expected"):
        train.clip_gradients(model, max_norm)
    assert np.array_equal(before, model.layers[0].grads["weight"])     # the gradients are untouched
    with pytest.raises(InvalidValueError, match=r"clip_gradients norm: expected"):
        train.clip_gradients(model, 1.0, norm=-2.0)


def test_clip_gradients_with_a_valid_max_norm_keeps_the_direction():
    model = _model_with_gradients()
    before = model.layers[0].grads["weight"].copy()
    norm = train.clip_gradients(model, 1e-3)
    assert norm > 1e-3 and train.grad_norm(model) == pytest.approx(1e-3, rel=1e-3)
    assert np.all(np.sign(model.layers[0].grads["weight"]) == np.sign(before))


def test_fit_takes_callbacks_none_and_names_a_bad_history_or_callbacks(digits):
    x, y = digits.train[0][:32], digits.train[1][:32]
    model = small_cnn(digits)
    opt = optim.SGD(model, 0.01)
    h = train.fit(model, CE(), opt, (x, y), epochs=1, batch_size=32, rng=0, callbacks=None)
    assert h.step == 1
    with pytest.raises(InvalidValueError, match=r"history: expected a History .* got dict \(use History.from_dict"):
        train.fit(model, CE(), opt, (x, y), epochs=2, batch_size=32, rng=0, history=h.to_dict(), start_epoch=1)
    with pytest.raises(InvalidValueError, match=r"callbacks: expected a list of callback objects \(or None\), got int"):
        train.fit(model, CE(), opt, (x, y), epochs=1, batch_size=32, rng=0, callbacks=3)
    h = train.fit(model, CE(), opt, (x, y), epochs=2, batch_size=32, rng=0,
                  history=train.History.from_dict(h.to_dict()), start_epoch=1)
    assert h.epoch == [1, 2] and h.step == 2
