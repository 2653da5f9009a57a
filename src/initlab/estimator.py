"""CNNClassifier: initlab's CNNs as a scikit-learn classifier, so the init can be cross-validated.

Floor 6: NumPy, scikit-learn and initlab's lower floors. The estimator follows scikit-learn's
protocol (`get_params`/`set_params`, `clone`, `fit`/`predict`/`predict_proba`/`score`,
`partial_fit`, `classes_`, `n_features_in_`) and passes its `check_estimator` suite (the
tests run it on the defaults and in float64), so
`GridSearchCV(CNNClassifier(), {"init_scale": [1e-4, 1e-2, 1]})` is the literature's
"cross-validated init variance". One check is an expected failure in float32: a sample's
probabilities can move by ~1e-7 with its position in the batch (the matrix products sum in
another order), more than the suite's sample-order check allows; `dtype="float64"` passes
every check.

Inputs: a 4-D image batch (n, c, h, w), or a flat (n, features) array, read as images of
`image_shape=(c, h, w)` when given and otherwise as one-row images (1, 1, features).
Labels may be of any type (strings, non-contiguous integers): they are kept in `classes_` and
the network predicts their index.
"""
from __future__ import annotations

import math
import sys

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (check_array, check_consistent_length, check_is_fitted,
                                      column_or_1d, validate_data)

from . import functional as F
from . import init
from .constraints import Integer, Optional, Options, Real, check
from .errors import DataError, DivergenceError, InvalidValueError, ShapeError
from .estimator_inputs import (_channel_mean_std, _check_image_shape, _float_dtype, _ndim, _seed_sequence,
                               check_model)
from .layers import ACTIVATION_LAYERS
from .model import Sequential
from .models import build
from .optim import DEFAULT_LR, SGD, Adam, build_optimizer
from .rng import as_generator
from .train import batches_per_pass, train_steps
from .validate import positive_int

__all__ = ["CNNClassifier", "AUTO_SMALL_MODEL", "DEFAULT_LR", "check_model"]

# model="auto" picks small_cnn for images of at least 2x2 pixels (it pools by 2), else this
# plain conv net, which works at any size (3x3 convs with padding, then global average pooling).
AUTO_SMALL_MODEL = "plain:2x16"
_PREDICT_BATCH = 256
_NO_Y = "no_validation"   # scikit-learn's marker for "no y given" (y=None is a user's error)


# the hyper-parameters checked at fit time (as scikit-learn requires), in this order
PARAMETERS = {"init_scale": Real(0.0), "activation": Options(ACTIVATION_LAYERS, kind="activation"),
              "optimizer": Options(("adam", "sgd"), kind="optimizer"), "lr": Optional(Real(0.0, low_open=True)),
              "momentum": Real(0.0, 1.0), "weight_decay": Real(0.0), "epochs": Integer(1), "batch_size": Integer(1),
              "clip_grad_norm": Optional(Real(0.0, low_open=True))}


def _is_no_y(y):
    return isinstance(y, str) and y == _NO_Y


class CNNClassifier(ClassifierMixin, BaseEstimator):
    """A convolutional network classifier trained by mini-batch SGD or Adam on softmax cross-entropy.

    Parameters
    ----------
    model : "auto", "small_cnn", "lenet5" or "plain:DEPTHxWIDTH"
        The architecture (`initlab.models.build`). "auto" is "small_cnn" for images of at least
        2x2 pixels and "plain:2x16" otherwise (e.g. flat tabular data without `image_shape`).
        small_cnn needs images >= 2x2, lenet5 >= 12x12; plain works at any size.
    weight_init : str
        Any initializer spec ("he_normal", "glorot_uniform", "normal(std=1)", ...) for the weights
        of every conv and dense layer; biases start at zero.
    init_scale : float >= 0
        Multiplies every initial weight (`init.scaled`), i.e. the std of a zero-mean scheme:
        weight_init="normal(std=1)" with init_scale=s draws N(0, s^2).
    activation : str
        The hidden activation ("relu", "tanh", ...).
    optimizer : "sgd" or "adam"
    lr : float or None
        Learning rate; None is 0.05 for SGD and 0.001 for Adam.
    momentum : float
        SGD momentum (ignored by Adam).
    weight_decay : float
        L2 penalty added to the gradient.
    epochs : int
        Passes over the training data in `fit` (`partial_fit` runs one).
    batch_size : int
    image_shape : (c, h, w) or None
        How to read a flat (n, c*h*w) X. None: as (1, 1, n_features) one-row images.
    standardize : bool
        Subtract the training images' per-channel mean and divide by their std (computed in `fit`,
        or on the first `partial_fit` batch), so inputs are centred as the init theory assumes.
    clip_grad_norm : float or None
        Rescale the gradients when their global L2 norm exceeds this (as torch's clip_grad_norm_).
    dtype : "float32" or "float64"
        Also np.float32/np.float64 or an np.dtype (kept as given, as scikit-learn requires).
    random_state : None, int, numpy Generator or RandomState
        Seeds the weight draws and the mini-batch order (two independent streams spawned from
        one SeedSequence). An int makes `fit` reproducible bit for bit.
    verbose : int
        > 0 prints the mean training loss of every epoch.

    Attributes
    ----------
    classes_ : the labels, sorted (np.unique)
    n_features_in_ : values per example (c*h*w; the column count of a flat X)
    image_shape_ : (c, h, w) the network reads
    model_name_ : the architecture "auto" resolved to
    model_ : the trained `Sequential`;  optimizer_ : its optimizer
    mean_, scale_ : per-channel standardization (0 and 1 when standardize=False)
    loss_curve_ : mean training loss of each epoch;  n_iter_ : epochs run so far

    Diverging training (a non-finite loss) raises `initlab.errors.DivergenceError`, which
    scikit-learn's searches record with their `error_score`.
    """

    def __init__(self, model="auto", weight_init="he_normal", init_scale=1.0, activation="relu",
                 optimizer="sgd", lr=None, momentum=0.9, weight_decay=0.0, epochs=10,
                 batch_size=32, image_shape=None, standardize=True, clip_grad_norm=None,
                 dtype="float32", random_state=None, verbose=0):
        self.model = model
        self.weight_init = weight_init
        self.init_scale = init_scale
        self.activation = activation
        self.optimizer = optimizer
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.epochs = epochs
        self.batch_size = batch_size
        self.image_shape = image_shape
        self.standardize = standardize
        self.clip_grad_norm = clip_grad_norm
        self.dtype = dtype
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ public API
    def fit(self, X, y):
        """Train a fresh network for `epochs` epochs on X (n, c, h, w) or (n, features), labels y."""
        self._check_params()
        x, y = self._check_input(X, y, reset=True)
        self.classes_, y_index = np.unique(y, return_inverse=True)
        self._start(x)
        x = self._to_images(x)
        for _ in range(self.epochs):
            self._epoch(x, y_index)
        return self

    def partial_fit(self, X, y, classes=None):
        """Train one more epoch on (X, y); the first call builds the network.

        `classes` (every label that will ever be seen) is needed on the first call only when the
        first batch lacks some class; later calls may pass it again but must not change it.
        """
        if not hasattr(self, "model_"):
            self._check_params()
            x, y = self._check_input(X, y, reset=True)
            self.classes_ = self._first_classes(y, classes)
            self._start(x)
        else:
            x, y = self._check_input(X, y, reset=False)
            if classes is not None and not np.array_equal(np.unique(classes), self.classes_):
                raise InvalidValueError(
                    f"partial_fit classes: expected the classes of the first call "
                    f"{self.classes_.tolist()}, got {np.unique(classes).tolist()}")
        self._epoch(self._to_images(x), self._label_index(y))
        return self

    def predict_proba(self, X):
        """Class probabilities softmax(logits), float64 (n, len(classes_)), columns in classes_ order."""
        return F.softmax(self._logits(X))

    def predict_log_proba(self, X):
        """log softmax(logits), float64 (n, len(classes_))."""
        return F.log_softmax(self._logits(X))

    def predict(self, X):
        """The most probable label of each example, taken from classes_."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def __sklearn_is_fitted__(self):
        # fitted means a trained network, not just attributes left by a fit that failed midway
        return hasattr(self, "model_")

    # ------------------------------------------------------------------ parameters
    def _check_params(self):
        """Validate the hyper-parameters (at fit time, as scikit-learn requires)."""
        check_model(self.model)
        params = check("", PARAMETERS, {key: getattr(self, key) for key in PARAMETERS})
        init.scaled(self.weight_init, params["init_scale"])
        if self.image_shape is not None:
            _check_image_shape(self.image_shape, "image_shape", none_ok=True)
        _float_dtype(self.dtype)

    def _np_dtype(self):
        return _float_dtype(self.dtype)

    # ------------------------------------------------------------------ inputs
    def _check_input(self, X, y=_NO_Y, *, reset):
        """Validate X (and y): 2-D (n, features) or 4-D (n, c, h, w), finite, float; y 1-D labels.

        A 2-D X goes through scikit-learn's `validate_data` (feature count and names); a 4-D X
        must, after fitting, have the fitted image shape.
        """
        ndim = _ndim(X)
        if ndim in (3,) or (ndim is not None and ndim > 4):
            raise ShapeError(f"X: expected a 2-D array (n_samples, n_features) or 4-D images "
                             f"(n, channels, height, width), got a {ndim}-D array of shape {np.shape(X)}")
        kwargs = dict(dtype=self._np_dtype(), allow_nd=True)
        if ndim == 4 and not reset:
            check_is_fitted(self)
            x = check_array(X, **kwargs)
            if x.shape[1:] != tuple(self.image_shape_):
                raise ShapeError(f"X has images of shape {x.shape[1:]}, but {type(self).__name__} "
                                 f"is expecting {tuple(self.image_shape_)} "
                                 f"({self.n_features_in_} features) as input")
            if not _is_no_y(y):
                y = column_or_1d(y, warn=True)
                check_consistent_length(x, y)
        elif _is_no_y(y):
            x = validate_data(self, X, reset=reset, **kwargs)
        else:
            x, y = validate_data(self, X, y, reset=reset, **kwargs)
        if reset:
            self.image_shape_ = self._resolve_image_shape(x)
            self.n_features_in_ = int(math.prod(self.image_shape_))
        if _is_no_y(y):
            return x, None
        check_classification_targets(y)
        return x, y

    def _resolve_image_shape(self, x):
        """(c, h, w) for a validated X: its own for 4-D; image_shape, or (1, 1, f), for flat."""
        if x.ndim == 4:
            shape = tuple(int(v) for v in x.shape[1:])
            if self.image_shape is not None and tuple(self.image_shape) != shape:
                raise ShapeError(f"image_shape {tuple(self.image_shape)} does not match the "
                                 f"images X of shape {shape}")
            return shape
        features = x.shape[1]
        if self.image_shape is None:
            return (1, 1, features)
        shape = tuple(int(v) for v in self.image_shape)
        if math.prod(shape) != features:
            raise ShapeError(f"image_shape {shape} holds {math.prod(shape)} values per example, "
                             f"but X has {features} features")
        return shape

    def _to_images(self, x):
        """(n, c, h, w) standardized images from a validated X."""
        images = x.reshape(len(x), *self.image_shape_)
        if not self.standardize:
            return images.astype(self._np_dtype(), copy=False)
        mean, scale = self.mean_[:, None, None], self.scale_[:, None, None]
        with np.errstate(over="ignore", invalid="ignore"):
            standardized = (images - mean) / scale
            if not np.isfinite(standardized).all():
                # x - m overflows for values near the float64 limit; x/s - m/s does not
                standardized = images / scale - mean / scale
            images = standardized.astype(self._np_dtype(), copy=False)
        if not np.isfinite(images).all():
            # images far outside the training range (beyond float32's range, say): refuse them
            # rather than predict from infinities
            raise DataError(
                f"X: standardizing with the training per-channel mean {self.mean_.tolist()} and "
                f"std {self.scale_.tolist()} gives values too large for {self._np_dtype().name} "
                f"(X's values lie in [{x.min():.6g}, {x.max():.6g}]); rescale X, or pass "
                f"standardize=False with inputs of a moderate size")
        return images

    def _first_classes(self, y, classes):
        if classes is None:
            return np.unique(y)
        classes = np.unique(classes)
        unseen = np.setdiff1d(np.unique(y), classes)
        if unseen.size:
            raise InvalidValueError(f"partial_fit: y has label(s) {unseen.tolist()} that are not "
                                    f"in classes {classes.tolist()}")
        return classes

    def _label_index(self, y):
        """Indices of y's labels in classes_; unknown labels are an error."""
        index = np.searchsorted(self.classes_, y)
        index = np.clip(index, 0, len(self.classes_) - 1)
        unknown = self.classes_[index] != y
        if np.any(unknown):
            raise InvalidValueError(f"y has label(s) {np.unique(y[unknown]).tolist()} that are not "
                                    f"in classes_ {self.classes_.tolist()}")
        return index.astype(np.int64)

    # ------------------------------------------------------------------ training
    def _start(self, x):
        """Fresh standardization statistics, network, optimizer and shuffling stream."""
        init_seed, shuffle_seed = _seed_sequence(self.random_state).spawn(2)
        images = x.reshape(len(x), *self.image_shape_).astype(np.float64)
        channels = self.image_shape_[0]
        if self.standardize:
            self.mean_, scale = _channel_mean_std(images)
            self.scale_ = np.where(scale > 0, scale, 1.0)
        else:
            self.mean_, self.scale_ = np.zeros(channels), np.ones(channels)
        self.model_name_ = self._model_name(self.image_shape_)
        self.model_ = self._build(self.image_shape_, len(self.classes_), np.random.default_rng(init_seed))
        lr = DEFAULT_LR[self.optimizer] if self.lr is None else self.lr
        if self.optimizer == "sgd":
            self.optimizer_ = SGD(self.model_, lr=lr, momentum=self.momentum, weight_decay=self.weight_decay)
        else:
            self.optimizer_ = Adam(self.model_, lr=lr, weight_decay=self.weight_decay)
        self._shuffle_rng = np.random.default_rng(shuffle_seed)
        self.loss_curve_ = []
        self.n_iter_ = 0

    def network(self, image_shape, n_classes, rng=None) -> Sequential:
        """The untrained network this estimator builds for (c, h, w) images and n_classes classes,
        its weights drawn from `rng` (e.g. to read its `summary` or its initial weight stds)."""
        self._check_params()
        shape = _check_image_shape(image_shape, "network image_shape")
        return self._build(shape, positive_int(n_classes, "n_classes"), as_generator(rng))

    def _model_name(self, image_shape):
        _, h, w = image_shape
        if self.model != "auto":
            return self.model
        return "small_cnn" if min(h, w) >= 2 else AUTO_SMALL_MODEL

    def _build(self, image_shape, n_classes, rng) -> Sequential:
        c, h, w = image_shape
        name = self._model_name(image_shape)
        try:
            return build(name, in_channels=c, num_classes=n_classes, image_size=(h, w),
                         weight_init=init.scaled(self.weight_init, self.init_scale),
                         activation=self.activation, rng=rng, dtype=self._np_dtype())
        except (ShapeError, InvalidValueError) as exc:
            flat = "" if (c, h) != (1, 1) or self.image_shape is not None else (
                " (a flat X without image_shape is read as 1 x n_features images; pass "
                "image_shape=(c, h, w), or use model='auto' or 'plain:DEPTHxWIDTH')")
            raise ShapeError(f"model {name!r} cannot take images of shape {(c, h, w)}"
                             f"{flat}: {exc}") from None

    def _epoch(self, images, y_index):
        """One pass over the data in shuffled mini-batches (`train.train_steps`); appends the
        mean loss to loss_curve_."""
        def diverged(xb, loss, norm):
            if math.isfinite(loss):          # a non-finite gradient: the next loss will tell
                return True
            where = self.model_.first_nonfinite_forward(xb) or "the loss"
            raise DivergenceError(
                f"{type(self).__name__}: the training loss became {loss} in epoch "
                f"{self.n_iter_ + 1} (first non-finite values: {where}); lower lr or "
                f"init_scale (now {self.init_scale!r}), or set clip_grad_norm")

        steps = batches_per_pass(len(images), self.batch_size)
        clip = None if self.clip_grad_norm is None else float(self.clip_grad_norm)
        losses = train_steps(self.model_, (images, y_index), self.optimizer_, steps=steps,
                             batch_size=self.batch_size, rng=self._shuffle_rng, nonfinite=diverged,
                             clip=clip)
        sizes = [self.batch_size] * (steps - 1) + [len(images) - (steps - 1) * self.batch_size]
        total = 0.0
        for loss, size in zip(losses.tolist(), sizes):
            total += loss * size
        self.loss_curve_.append(total / len(images))
        self.n_iter_ += 1
        if self.verbose:
            print(f"epoch {self.n_iter_}: loss {self.loss_curve_[-1]:.4f}", file=sys.stderr)

    # ------------------------------------------------------------------ inference
    def _logits(self, X):
        check_is_fitted(self)
        x, _ = self._check_input(X, reset=False)
        return self.model_.predict(self._to_images(x), batch_size=_PREDICT_BATCH).astype(np.float64)

    # ------------------------------------------------------------------ pickling
    def __getstate__(self):
        """scikit-learn pickles estimators; the network travels as its config and state dict
        (plain arrays), so no stale forward caches or live objects are pickled."""
        state = dict(super().__getstate__())
        model = state.pop("model_", None)
        if model is not None:
            state["model_"] = {"config": model.config(), "state": model.state_dict()}
        optimizer = state.pop("optimizer_", None)
        if optimizer is not None:
            state["optimizer_"] = {"config": optimizer.config(), "state": optimizer.state_dict()}
        return state

    def __setstate__(self, state):
        state = dict(state)
        saved_model, saved_optimizer = state.pop("model_", None), state.pop("optimizer_", None)
        super().__setstate__(state)
        if saved_model is not None:
            self.model_ = Sequential.from_config(saved_model["config"])
            self.model_.load_state_dict(saved_model["state"])
        if saved_optimizer is not None:
            self.optimizer_ = build_optimizer(self.model_, saved_optimizer["config"])
            self.optimizer_.load_state_dict(saved_optimizer["state"])
