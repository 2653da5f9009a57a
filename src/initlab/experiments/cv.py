"""Study: choose the init std by k-fold cross-validation, through scikit-learn's own machinery.

"How do I pick the init variance?" is, in practice, answered by tuning it. This study does it
the way the Python world does: `GridSearchCV` over `CNNClassifier`, with

* a log grid of stds: weight_init="normal(std=1)" scaled by init_scale in {1e-4, ..., 1}, and
* the named variance-scaled schemes (He, Glorot, LeCun) as they are (init_scale 1),

or any grid of estimator parameters (`grid={"init_scale": [...], "weight_init": [...]}`).
Every candidate is scored by stratified k-fold validation accuracy; the best is refit on all
the CV data and scored once on the held-out test split. Each candidate's "init std" is the
geometric mean over layers of its initial weights' std (for normal(std=1) x s that is s).

Seeds: one `seed` gives the data split, the folds and the fits (every fit draws its weights and
batch order from the same `fit_seed`, so candidates differ only in what the grid varies).
Scale-out: `n_jobs` joblib processes locally, or `backend="dask"` with a `scheduler` address
(joblib's Dask backend over a `distributed.Client`), with the same results.
"""
from __future__ import annotations

import contextlib
import time
import warnings

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from threadpoolctl import threadpool_limits

from .. import data as D
from .. import init
from ..errors import InvalidValueError, unknown_name
from ..estimator import CNNClassifier
from ..validate import positive_int
from . import claim, to_jsonable

SCALES = (1e-4, 1e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0)
SCHEMES = ("he_normal", "glorot_uniform", "lecun_normal")
BASE_INIT = "normal(std=1)"
BACKENDS = ("local", "dask")
CONNECT_TIMEOUT = 15   # seconds to reach a Dask scheduler before giving up
CLEAR_MARGIN = 0.2      # "clearly better": 20 points of validation accuracy
NEAR_BEST = 0.05        # a named scheme "as good as the tuned std": within 5 points

TINY = dict(n=450, folds=3, epochs=3, scales=(1e-4, 1e-2, 0.1, 1.0), schemes=("he_normal",))
DEMO = dict(n=None, folds=5, epochs=4, scales=SCALES, schemes=SCHEMES)


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
    """Every name is a CNNClassifier parameter (random_state excepted: it comes from `seed`) with a
    non-empty list of values; initializer specs are resolved now, so a typo fails before any fit."""
    params = CNNClassifier().get_params()
    for part in grid:
        for name, values in part.items():
            if name == "random_state":
                raise InvalidValueError("cv grid: random_state is derived from the seed; use seed=")
            if name not in params:
                raise unknown_name("CNNClassifier parameter", name, [p for p in params if p != "random_state"])
            if not values:
                raise InvalidValueError(f"cv grid: parameter {name!r} has no values")
            if name == "weight_init":
                for spec in values:
                    init.get(spec)


def candidates(grid: list[dict]) -> list[dict]:
    """The candidates in GridSearchCV's order (sklearn's ParameterGrid)."""
    from sklearn.model_selection import ParameterGrid
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


# --------------------------------------------------------------------------- running the search

class _ProgressScorer:
    """Accuracy, reporting each scored fit to `progress` (only used when fits run in-process)."""

    def __init__(self, progress, total):
        self.progress, self.total, self.done = progress, total, 0

    def __call__(self, estimator, X, y):
        score = estimator.score(X, y)
        self.done += 1
        self.progress(self.done, self.total, f"fit {self.done}/{self.total}")
        return score


@contextlib.contextmanager
def _parallel_backend(backend, scheduler):
    """Nothing for "local" (joblib's processes); for "dask", joblib's Dask backend over a
    `distributed.Client(scheduler)` that is closed afterwards."""
    if backend == "local":
        yield
        return
    try:
        import joblib
        from distributed import Client
    except ImportError:
        raise InvalidValueError("backend 'dask' needs dask.distributed: pip install 'initlab[dask]'") from None
    with Client(scheduler, timeout=CONNECT_TIMEOUT) as client, joblib.parallel_backend("dask", client=client):
        yield


def _self_contained(x, y, splits):
    """The data and folds as lists, which joblib's Dask backend embeds in every task.

    Given arrays, it scatters each to one worker (the scheduler's memory manager also trims
    broadcast copies back to one), so a worker that dies takes the only copy with it and every
    fit that needed it fails. Inside the tasks, any worker can rerun any fit.
    """
    return list(x), list(y), [(train.tolist(), test.tolist()) for train, test in splits]


def check_options(folds, backend, scheduler, n_jobs):
    """Validate the run's options; returns folds as an int."""
    folds = positive_int(folds, "cv folds", minimum=2)
    if backend not in BACKENDS:
        raise unknown_name("backend", backend, BACKENDS)
    if backend == "dask" and not scheduler:
        raise InvalidValueError("backend 'dask' needs a scheduler address, e.g. tcp://HOST:8786")
    if backend == "local" and scheduler:
        raise InvalidValueError("a scheduler address is only used with backend 'dask'")
    if n_jobs is not None and (not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1):
        raise InvalidValueError(f"n_jobs: expected a positive int or -1 (all cores), got {n_jobs!r}")
    return folds


def _load(dataset, n, seed):
    """(x_cv, y_cv, x_test, y_test, dataset): CV runs on train+val, the test split is held out.
    Unstandardized: the estimator standardizes inside each fold, from that fold's training part."""
    ds = D.load(dataset, seed=seed, n=n, standardize=False)
    x = np.concatenate([ds.train[0], ds.val[0]])
    y = np.concatenate([ds.train[1], ds.val[1]])
    return x, y, ds.test[0], ds.test[1], ds


def run(*, grid=None, scales=SCALES, schemes=SCHEMES, base_init=BASE_INIT, dataset="digits", n=None,
        folds=5, epochs=4, batch_size=32, model="small_cnn", lr=0.03, clip_grad_norm=None, seed=0,
        n_jobs=None, backend="local", scheduler=None, progress=None) -> dict:
    """Cross-validate the init of a CNNClassifier with GridSearchCV; return plain data.

    SGD with momentum 0.9 at lr 0.03 (a little below the estimator's 0.05, at which He-initialized
    fits on a few hundred images are already unstable). A fit that diverges (DivergenceError) scores NaN in its fold: counted in the candidate's
    "failed", its mean is None, and the claims count it as accuracy 0. `clip_grad_norm` (e.g. 5)
    rescues the large stds, which then train, though less well. Returns {"study", "settings", "grid", "candidates" (ranked: rank, params, label,
    init_std, layer_stds, mean/std/split validation accuracy, fit times, failed folds),
    "cv_results" (GridSearchCV's cv_results_ as lists, None where masked or NaN), "best",
    "worst", "chance", flat numbers (best_score, worst_score, margin, test_accuracy), "claims",
    "seconds"}.
    """
    began = time.perf_counter()
    folds = check_options(folds, backend, scheduler, n_jobs)
    grid = param_grid(grid, scales, schemes, base_init)
    check_grid(grid)
    fold_seed, fit_seed = (int(s) for s in np.random.SeedSequence(seed).generate_state(2))
    x, y, x_test, y_test, ds = _load(dataset, n, seed)
    image_shape, n_classes = tuple(x.shape[1:]), ds.num_classes
    base = CNNClassifier(model=model, epochs=epochs, batch_size=batch_size, lr=lr,
                         clip_grad_norm=clip_grad_norm, random_state=fit_seed)
    cands = candidates(grid)
    stds = [layer_stds(clone(base).set_params(**c), image_shape, n_classes) for c in cands]  # checks every candidate

    total = len(cands) * folds
    in_process = backend == "local" and n_jobs in (None, 1)
    scoring = _ProgressScorer(progress, total) if (progress and in_process) else "accuracy"
    splits = list(StratifiedKFold(folds, shuffle=True, random_state=fold_seed).split(x, y))
    x_fit, y_fit, splits = _self_contained(x, y, splits) if backend == "dask" else (x, y, splits)
    search = GridSearchCV(base, grid, cv=splits,
                          scoring=scoring, n_jobs=(-1 if backend == "dask" else 1) if n_jobs is None else n_jobs,
                          refit=False, error_score=np.nan)
    if progress:
        progress(0, total, f"{len(cands)} candidates x {folds} folds")
    search_began = time.perf_counter()
    with warnings.catch_warnings():
        # a diverging candidate is expected here: its folds score NaN and are counted below
        warnings.simplefilter("ignore", FitFailedWarning)
        warnings.filterwarnings("ignore", message="One or more of the test scores are non-finite")
        # one BLAS thread per fit: parallelism comes from n_jobs; threads on these small GEMMs
        # only oversubscribe the cores (many times slower on a busy machine)
        with _parallel_backend(backend, scheduler), threadpool_limits(1):
            search.fit(x_fit, y_fit)
    search_seconds = time.perf_counter() - search_began
    if progress:
        progress(total, total, "done")

    plain = plain_cv_results(search.cv_results_)
    ranked = _ranked(plain, cands, stds, folds)
    with threadpool_limits(1):
        test_accuracy = _refit_and_test(base, ranked, x, y, x_test, y_test)
    out = {
        "study": "cv",
        "settings": dict(dataset=ds.name, n_cv=len(x), n_test=len(x_test), image_shape=list(image_shape),
                         num_classes=n_classes, folds=folds, epochs=epochs, batch_size=batch_size,
                         model=model, lr=lr, clip_grad_norm=clip_grad_norm, seed=seed,
                         fold_seed=fold_seed, fit_seed=fit_seed, n_jobs=n_jobs, backend=backend,
                         scheduler=scheduler),
        "grid": grid,
        "chance": 1.0 / n_classes,
        "candidates": ranked,
        "cv_results": plain,
    }
    out.update(_summary(ranked, test_accuracy))
    out["claims"] = _claims(out, base_init)
    out["search_seconds"] = search_seconds
    out["seconds"] = time.perf_counter() - began
    return out


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


def label(params: dict) -> str:
    """A candidate's curve: its parameters other than init_scale ("normal(std=1)", "he_normal, lr=0.1")."""
    rest = [f"{k}={v}" for k, v in sorted(params.items()) if k not in ("init_scale", "weight_init")]
    return ", ".join([str(params.get("weight_init", "he_normal"))] + rest)


def _ranked(plain, cands, stds, folds) -> list[dict]:
    rows = []
    for i, params in enumerate(cands):
        splits = [plain[f"split{k}_test_score"][i] for k in range(folds)]
        mean = plain["mean_test_score"][i]
        rows.append({
            "rank": plain["rank_test_score"][i], "params": to_jsonable(params), "label": label(params),
            "init_scale": float(params.get("init_scale", 1.0)), "init_std": geometric_mean(stds[i]),
            "layer_stds": stds[i], "mean": mean, "std": plain["std_test_score"][i], "splits": splits,
            "failed": sum(s is None for s in splits), "mean_fit_time": plain["mean_fit_time"][i],
            "std_fit_time": plain["std_fit_time"][i],
        })
    # ranked by mean validation accuracy; a candidate with failed folds (NaN mean) goes last
    return sorted(rows, key=lambda r: (r["mean"] is None, -(r["mean"] or 0.0), r["rank"]))


def _refit_and_test(base, ranked, x, y, x_test, y_test):
    """Accuracy on the held-out test split of the best candidate refit on all the CV data
    (None when every candidate failed, the refit diverged, or there is no test split)."""
    best = next((r for r in ranked if r["mean"] is not None), None)
    if best is None or not len(x_test):
        return None
    try:
        fitted = clone(base).set_params(**best["params"]).fit(x, y)
    except FloatingPointError:   # DivergenceError
        return None
    return float(fitted.score(x_test, y_test))


def _summary(ranked, test_accuracy) -> dict:
    scored = [r for r in ranked if r["mean"] is not None]
    best, worst = (scored[0], scored[-1]) if scored else (None, None)
    return {
        "best": best, "worst": worst,
        "best_score": best["mean"] if best else None,
        "worst_score": worst["mean"] if worst else None,
        "margin": best["mean"] - worst["mean"] if best else None,
        "best_init": best["label"] if best else None,
        "best_init_scale": best["init_scale"] if best else None,
        "best_init_std": best["init_std"] if best else None,
        "test_accuracy": test_accuracy,
        "failed_candidates": sum(r["mean"] is None for r in ranked),
    }


def _score(row):
    """A candidate's score for the claims: its mean validation accuracy over the folds, a
    diverged fold (no score) counted as 0."""
    return float(np.mean([0.0 if score is None else score for score in row["splits"]]))


def _claims(out, base_init) -> list[dict]:
    ranked, chance = out["candidates"], out["chance"]
    if out["best"] is None:
        return [claim("at least one candidate trains without diverging", False,
                      ja="少なくとも 1 つの候補は発散せずに学習できる", failed=out["failed_candidates"])]
    best = out["best"]["mean"]
    worst = min(ranked, key=_score)          # a diverged fold counts as 0 here too
    claims = [claim(
        f"the best init beats the worst by a clear margin (>= {CLEAR_MARGIN:.0%} validation accuracy; "
        "a diverged fold counts as 0)",
        best - _score(worst) >= CLEAR_MARGIN,
        ja=f"最良の初期化は最悪のものをはっきりした差で上回る(検証精度の差が {CLEAR_MARGIN * 100:.0f} ポイント以上。"
           "発散したフォールドは精度 0 とみなす)",
        best=best, worst=_score(worst), margin=best - _score(worst), worst_init=worst["label"],
        worst_scale=worst["init_scale"], best_init=out["best_init"], best_scale=out["best_init_scale"],
        chance=chance)]
    curve = sorted((r for r in ranked if r["label"] == label({"weight_init": base_init})),
                   key=lambda r: r["init_scale"])
    if curve and curve[0]["init_scale"] <= 1e-3:
        small = curve[0]
        claims.append(claim(
            f"too small a std ({small['init_std']:.0e}) trains no better than near chance and clearly "
            "below the best (the signal and its gradient vanish through the layers)",
            best - _score(small) >= CLEAR_MARGIN and _score(small) <= chance + 0.1,
            ja=f"小さすぎる標準偏差({small['init_std']:.0e})ではチャンスレベル程度にしか学習できず、最良のものを"
               "はっきり下回る(信号とその勾配が層を通るうちに消える)",
            std=small["init_std"], accuracy=_score(small), best=best, chance=chance))
    if curve and curve[-1]["init_scale"] >= 0.3:
        large = curve[-1]
        claims.append(claim(
            f"too large a std ({large['init_std']:.2g}) does worse than the best (exploding signal; "
            "diverged folds count as 0)",
            best - _score(large) >= NEAR_BEST,
            ja=f"大きすぎる標準偏差({large['init_std']:.2g})では精度が最良のものより劣る(信号が爆発する。"
               "発散したフォールドは精度 0 とみなす)",
            std=large["init_std"], accuracy=_score(large),
            failed_folds=large["failed"], best=best))
    # the fan-scaled schemes at their own scale, against the best point of the searched std curve
    named = [r for r in ranked if set(r["params"]) == {"weight_init", "init_scale"}
             and r["init_scale"] == 1.0 and init.is_fan_scaled(r["params"]["weight_init"])]
    if named and curve:
        tuned = max(curve, key=_score)
        worst_named = min(named, key=_score)
        claims.append(claim(
            f"the variance-scaled schemes ({', '.join(r['label'] for r in named)}) score within "
            f"{NEAR_BEST:.0%} of the best std found by searching {tuned['label']}, with no tuning",
            _score(tuned) - _score(worst_named) <= NEAR_BEST,
            ja=f"分散をスケールする方式({', '.join(r['label'] for r in named)})は調整なしでも、{tuned['label']} の"
               f"標準偏差を探索して見つけた最良値との精度の差が {NEAR_BEST * 100:.0f} ポイント以内",
            **{r["label"]: _score(r) for r in named}, best_searched=_score(tuned),
            best_searched_std=tuned["init_std"]))
    return claims
