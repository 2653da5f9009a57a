"""Study: choose the init std by k-fold cross-validation, through scikit-learn's own machinery.

"How do I pick the init variance?" is, in practice, answered by tuning it. This study does it
the way the Python world does: `GridSearchCV` over `CNNClassifier`, with

* a log grid of stds: weight_init="normal(std=1)" scaled by init_scale in {1e-4, ..., 1}, and
* the named variance-scaled schemes (He, Glorot, LeCun) as they are (init_scale 1),

or any grid of estimator parameters (`grid={"init_scale": [...], "weight_init": [...]}`).
Every candidate is scored by stratified k-fold validation accuracy; the best is refit on all
the CV data and scored once on the held-out test split. Each candidate's "init std" is the
geometric mean over layers of its initial weights' std (for normal(std=1) x s that is s).

The grid of the lab: one task per seed runs the whole search (scikit-learn's grid, in that
task's process), so a search is repeated over seeds and every claim is decided seed by seed.
A seed gives the data split, the folds and the fits (every fit at one seed draws its weights
and batch order from the same `fit_seed`, so candidates differ only in what the grid
varies); these seeds are derived from the seed alone, so a run with other options (more
epochs, another grid) searches on the same splits. The searches run on local processes or a
Dask cluster (`initlab.lab.runner`), with the same results.
"""
from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import GridSearchCV, ParameterGrid, StratifiedKFold

from .. import data as D
from .. import init
from ..constraints import Integer, Optional, check, fail
from ..errors import InvalidValueError, unknown_name
from ..estimator import CNNClassifier
from ..lab.tasks import Task, grid as task_grid
from ..lab.study import SEEDS
from . import to_jsonable

NAME = "cv"
SCALES = (1e-4, 1e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0)
SCHEMES = ("he_normal", "glorot_uniform", "lecun_normal")
BASE_INIT = "normal(std=1)"
TIMES = ("mean_fit_time", "std_fit_time", "mean_score_time", "std_score_time")   # cv_results_'s clock readings

TINY = dict(n=300, folds=3, epochs=2, scales=(1e-4, 0.1, 1.0), schemes=("he_normal",), seeds=(0, 1))
# Smaller than the defaults (700 examples, 3 folds, 2 epochs, a std curve of 4 decades: 1e-4
# where the signal vanishes, 1e-2, 0.1 near He's 0.16, 1 where it explodes) so that the search
# is repeated over 8 seeds within the demo's time.
DEMO = dict(n=700, folds=3, epochs=2, scales=(1e-4, 1e-2, 0.1, 1.0), schemes=SCHEMES, seeds=tuple(range(8)))


# --------------------------------------------------------------------------- the grid

def param_grid(grid=None, scales=SCALES, schemes=SCHEMES, base_init=BASE_INIT) -> list[dict]:
    """The GridSearchCV grid: `grid` ({param: values}) as given, else the std curve
    {weight_init: [base_init], init_scale: scales} plus {weight_init: schemes, init_scale: [1]}."""
    if grid:
        return [{name: list(values) for name, values in dict(grid).items()}]
    parts = []
    if scales:
        parts.append({"weight_init": [base_init], "init_scale": [float(s) for s in scales]})
    if schemes:
        parts.append({"weight_init": list(schemes), "init_scale": [1.0]})
    if not parts:
        raise InvalidValueError("cv: the grid is empty; give scales, schemes or a grid")
    return parts


def check_grid(grid: list[dict]):
    """Every name is a CNNClassifier parameter (random_state excepted: it comes from the seed) with
    a non-empty list of values; initializer specs are resolved now, so a typo fails before any fit."""
    params = CNNClassifier().get_params()
    for part in grid:
        for name, values in part.items():
            if name == "random_state":
                raise InvalidValueError("cv grid: random_state is derived from the seed; use seeds=")
            if name not in params:
                raise unknown_name("CNNClassifier parameter", name, [p for p in params if p != "random_state"])
            if not values:
                raise InvalidValueError(f"cv grid: parameter {name!r} has no values")
            if name == "weight_init":
                for spec in values:
                    init.get(spec)


def candidates(grid: list[dict]) -> list[dict]:
    """The candidates in GridSearchCV's order (sklearn's ParameterGrid)."""
    return list(ParameterGrid(grid))


# --------------------------------------------------------------------------- std of a candidate

def layer_stds(estimator, image_shape, n_classes) -> list[float]:
    """The std of each conv/dense weight of the network `estimator` builds (drawn with seed 0)."""
    net = estimator.network(image_shape, n_classes, rng=0)
    return [float(np.std(layer.params["weight"], dtype=np.float64))
            for layer in net if "weight" in layer.params and type(layer).__name__ in ("Conv2D", "Dense")]


def geometric_mean(values) -> float:
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0 or np.any(values <= 0):
        return 0.0
    return float(np.exp(np.mean(np.log(values))))


# --------------------------------------------------------------------------- seeds and data

def seeds_of(seed: int) -> dict:
    """{"split", "folds", "fits"}: the integer seeds of the data split, the stratified folds and
    every fit at one lab seed, from SeedSequence streams of (study, seed) alone."""
    task = Task(NAME, {}, int(seed))
    return {stream: int(task.seed_sequence(stream, shared=True).generate_state(1)[0])
            for stream in ("split", "folds", "fits")}


def load(dataset, n, split_seed):
    """(x_cv, y_cv, x_test, y_test, dataset): CV runs on train+val, the test split is held out.
    Unstandardized: the estimator standardizes inside each fold, from that fold's training part."""
    ds = D.load(dataset, seed=split_seed, n=n, standardize=False)
    x = np.concatenate([ds.train[0], ds.val[0]])
    y = np.concatenate([ds.train[1], ds.val[1]])
    return x, y, ds.test[0], ds.test[1], ds


@lru_cache(maxsize=8)
def shape_of(dataset, n) -> tuple:
    """(image_shape, num_classes) of a dataset (the same for every split)."""
    ds = D.load(dataset, seed=0, n=n, standardize=False)
    return tuple(ds.train[0].shape[1:]), ds.num_classes


# --------------------------------------------------------------------------- options and tasks

OPTIONS = {"folds": Integer(2), "seeds": SEEDS, "n": Optional(Integer(1))}


def check_options(*, grid=None, scales=SCALES, schemes=SCHEMES, base_init=BASE_INIT, dataset="digits", n=None,
                  folds=5, epochs=4, batch_size=32, model="small_cnn", lr=0.03, clip_grad_norm=None,
                  seeds=tuple(range(8))) -> dict:
    """Every option checked and completed (the grid resolved to GridSearchCV's), a bad one an
    InvalidValueError naming its keyword, before any fit: the folds against the smallest class
    of every seed's split, and every candidate by building its network for the data's images
    (GridSearchCV would score a candidate that cannot be built as a failed fit)."""
    o = check("", OPTIONS, dict(folds=folds, seeds=seeds, n=n))
    folds, seeds, n = o["folds"], o["seeds"], o["n"]
    searched = param_grid(grid, scales, schemes, base_init)
    check_grid(searched)
    base = CNNClassifier(model=model, epochs=epochs, batch_size=batch_size, lr=lr, clip_grad_norm=clip_grad_norm)
    image_shape, n_classes = shape_of(dataset, n)
    for params in [{}] + candidates(searched):
        layer_stds(clone(base).set_params(**params), image_shape, n_classes)    # checks every parameter too
    count, label_, total = smallest_class(dataset, n, seeds)
    if folds > count:
        raise fail("", "folds", f"expected at most {count}, the examples of the smallest class (class {label_}) "
                   f"among the {total} cross-validated, got {folds}")
    return dict(grid=searched, base_init=base_init, dataset=dataset, n=n, folds=folds, epochs=epochs,
                batch_size=batch_size, model=model, lr=lr, clip_grad_norm=clip_grad_norm, seeds=seeds)


def smallest_class(dataset, n, seeds) -> tuple:
    """(count, label, examples) of the least frequent class in the cross-validated part of any
    seed's split: stratified folds need at least one example of each class."""
    found = []
    for seed in seeds:
        _, y, *_ = load(dataset, n, seeds_of(seed)["split"])
        labels, counts = np.unique(y, return_counts=True)
        found.append((int(counts.min()), labels[counts.argmin()].item(), len(y)))
    return min(found)


SEARCH = ("grid", "dataset", "n", "folds", "epochs", "batch_size", "model", "lr", "clip_grad_norm")


def tasks(options):
    """One task per seed: the whole search."""
    return task_grid(NAME, [{key: options[key] for key in SEARCH}], options["seeds"])


def run_task(task) -> dict:
    """One GridSearchCV at one seed, then the best candidate refit on all the CV data and scored
    on the held-out test split: {"cv_results" (cv_results_ as lists, None where masked or NaN;
    its clock readings under "timing"), "test_accuracy" (None when every candidate failed or
    the refit diverged), "best" (the refit's params), "n_cv", "n_test", "seeds", "timing"}."""
    c = task.config
    seeds = seeds_of(task.seed)
    x, y, x_test, y_test, _ = load(c["dataset"], c["n"], seeds["split"])
    base = CNNClassifier(model=c["model"], epochs=c["epochs"], batch_size=c["batch_size"], lr=c["lr"],
                         clip_grad_norm=c["clip_grad_norm"], random_state=seeds["fits"])
    splits = list(StratifiedKFold(c["folds"], shuffle=True, random_state=seeds["folds"]).split(x, y))
    search = GridSearchCV(base, c["grid"], cv=splits, scoring="accuracy", n_jobs=1, refit=False,
                          error_score=np.nan)
    with warnings.catch_warnings(), np.errstate(over="ignore", invalid="ignore"):
        # a diverging candidate is expected here (its overflow is caught as a DivergenceError):
        # its folds score NaN and are counted
        warnings.simplefilter("ignore", FitFailedWarning)
        warnings.filterwarnings("ignore", message="One or more of the test scores are non-finite")
        search.fit(x, y)
    results = plain_cv_results(search.cv_results_)
    timing = {key: results.pop(key) for key in TIMES}
    best, test_accuracy = refit_and_test(base, results, x, y, x_test, y_test)
    return {"cv_results": results, "test_accuracy": test_accuracy, "best": best, "n_cv": len(x),
            "n_test": len(x_test), "seeds": seeds, "timing": timing}


# --------------------------------------------------------------------------- results as plain data

def plain_cv_results(cv_results) -> dict:
    """cv_results_ as {key: list}: masked entries and NaN scores become None, params plain dicts."""
    plain = {}
    for key, value in cv_results.items():
        if key == "params":
            plain[key] = [to_jsonable(dict(p)) for p in value]
        elif np.ma.isMaskedArray(value):
            mask = np.ma.getmaskarray(value)
            plain[key] = [None if m else to_jsonable(v) for v, m in zip(value.data.tolist(), mask)]
        else:
            plain[key] = to_jsonable(np.asarray(value).tolist())
    return plain


def refit_and_test(base, results, x, y, x_test, y_test):
    """(params, test accuracy) of the candidate with the best mean validation accuracy (a
    candidate with a failed fold excluded), refit on all the CV data; (None, None) when every
    candidate failed, and a None accuracy when the refit diverged or there is no test split."""
    means = [m if m is not None else -np.inf for m in results["mean_test_score"]]
    if not np.isfinite(max(means, default=-np.inf)):
        return None, None
    params = results["params"][int(np.argmax(means))]
    if not len(x_test):
        return params, None
    try:
        fitted = clone(base).set_params(**params).fit(x, y)
    except FloatingPointError:   # DivergenceError
        return params, None
    return params, float(fitted.score(x_test, y_test))


def label(params: dict) -> str:
    """A candidate's curve: its parameters other than init_scale ("normal(std=1)", "he_normal, lr=0.1")."""
    rest = [f"{k}={v}" for k, v in sorted(params.items()) if k not in ("init_scale", "weight_init")]
    return ", ".join([str(params.get("weight_init", "he_normal"))] + rest)


# --------------------------------------------------------------------------- summary

def summarize(options, tasks, results) -> dict:
    """Measurements only (the claims are in `initlab.claims.cv`):

    {"study", "settings", "grid", "chance", "candidates" (ranked by the mean over seeds of the
    mean validation accuracy; per candidate: params, label, init_scale, init_std, layer_stds,
    "scores" (per seed: the mean over folds, a fold whose fit diverged counted as 0),
    "splits" (seeds x folds, None = diverged), "failed" (folds, over all seeds), "mean" (over
    seeds of scores; None when a fold failed), "std" (of scores over seeds)), "best", "worst",
    "searches" (per seed: seed, the split/fold/fit seeds, cv_results, best params,
    test_accuracy), "test_accuracy" (per seed), flat numbers (best_score, worst_score, margin,
    best_init, best_init_scale, best_init_std, median_test_accuracy, failed_candidates)}."""
    o = options
    cands = candidates(o["grid"])
    image_shape, n_classes = shape_of(o["dataset"], o["n"])
    base = CNNClassifier(model=o["model"])
    rows = []
    for i, params in enumerate(cands):
        splits = [[r["cv_results"][f"split{k}_test_score"][i] for k in range(o["folds"])] for r in results]
        scores = [float(np.mean([0.0 if s is None else s for s in fold])) for fold in splits]
        failed = sum(s is None for fold in splits for s in fold)
        stds = layer_stds(clone(base).set_params(**params), image_shape, n_classes)
        rows.append({"params": to_jsonable(params), "label": label(params),
                     "init_scale": float(params.get("init_scale", 1.0)), "init_std": geometric_mean(stds),
                     "layer_stds": stds, "scores": scores, "splits": splits, "failed": failed,
                     "mean": None if failed else float(np.mean(scores)), "std": float(np.std(scores)),
                     "index": i})
    # ranked by mean validation accuracy; a candidate with failed folds (no mean) goes last
    ranked = sorted(rows, key=lambda r: (r["mean"] is None, -(r["mean"] or 0.0), r["index"]))
    for rank, row in enumerate(ranked, 1):
        row["rank"] = rank
    searches = [{"seed": task.seed, **{k: r[k] for k in ("seeds", "cv_results", "best", "test_accuracy", "timing")}}
                for task, r in zip(tasks, results)]
    settings = {k: (list(v) if isinstance(v, tuple) else v) for k, v in o.items() if k != "grid"}
    settings.update(n_cv=results[0]["n_cv"], n_test=results[0]["n_test"], image_shape=list(image_shape),
                    num_classes=n_classes)
    out = {"study": NAME, "settings": settings, "grid": o["grid"], "chance": 1.0 / n_classes, "candidates": ranked,
           "searches": searches, "test_accuracy": [r["test_accuracy"] for r in results]}
    out.update(_summary(ranked, out["test_accuracy"]))
    return out


def _summary(ranked, test_accuracy) -> dict:
    scored = [r for r in ranked if r["mean"] is not None]
    best, worst = (scored[0], scored[-1]) if scored else (None, None)
    tested = [t for t in test_accuracy if t is not None]
    return {
        "best": best, "worst": worst,
        "best_score": best["mean"] if best else None,
        "worst_score": worst["mean"] if worst else None,
        "margin": best["mean"] - worst["mean"] if best else None,
        "best_init": best["label"] if best else None,
        "best_init_scale": best["init_scale"] if best else None,
        "best_init_std": best["init_std"] if best else None,
        "median_test_accuracy": float(np.median(tested)) if tested else None,
        "failed_candidates": sum(r["mean"] is None for r in ranked),
    }


def run(progress=None, *, jobs=None, backend="local", scheduler=None, **options) -> dict:
    """The whole study: one search per seed on `jobs` local processes (default: this process
    only) or a Dask cluster (backend="dask", scheduler=address); see `initlab.lab.study.run_study`."""
    import sys
    from ..lab.runner import Executor
    from ..lab.study import run_study
    executor = Executor(backend, scheduler, 1 if jobs is None and backend == "local" else jobs)
    return run_study(sys.modules[__name__], options, executor=executor, progress=progress)
