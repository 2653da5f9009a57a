"""`initlab cv`: k-fold cross-validation of the init through scikit-learn's GridSearchCV.

Default grid: weight_init normal(std=1) scaled by init_scale in 1e-4 .. 1, plus He, Glorot and
LeCun as designed. Any grid with --param, e.g.
  initlab cv --param init_scale=1e-4,1e-3,1e-2,0.1,1 --param weight_init=he_normal,normal(std=0.01)
The whole search is repeated over seeds (default 8; each seed a new split, new folds and new
fits), one search per task, on local processes (--jobs) or a Dask cluster (--backend dask
--scheduler tcp://HOST:8786); the claims are decided over the searches. Prints the ranked
table; writes cv_results.csv and cv_results.json (GridSearchCV's cv_results_ of each seed),
result.json (the study's numbers and claims), timing.json, the finished searches and the
figure to --out.
"""
from __future__ import annotations

import argparse
import csv
import re
from pathlib import Path

from ..errors import InitlabError, InvalidValueError
from ..validate import positive_int, real_number
from . import ui
from ._common import add_common, executor, finish_parser, report_written, run_study, study_preset, write_json
from ._options import MAX_IMAGES, MAX_STEPS, check_at_most, check_plain_model, check_unique, named, split_list
from ._paths import output_folder

ORDER = 25


def parse_value(text: str):
    """'3' -> 3, '1e-4' -> 0.0001, 'true'/'false' -> bool, 'none' -> None, anything else the string."""
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    try:
        return float(text)
    except ValueError:
        pass
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "none":
        return None
    return text


def parse_params(items) -> dict:
    """["init_scale=1e-4,0.1", "weight_init=he_normal,normal(std=0.01)"] -> {name: [values]}."""
    grid = {}
    for item in items:
        name, sep, rest = item.partition("=")
        name = name.strip()
        if not sep or not name or not rest.strip():
            raise InvalidValueError(f"--param: expected NAME=V1,V2,..., got {item!r}")
        if name in grid:
            raise InvalidValueError(f"--param: {name!r} given twice; list all its values in one --param")
        grid[name] = [parse_value(v) for v in split_list(rest, "--param", unique=False)]
        check_unique(grid[name], f"--param {name}", key=_value_key)
        for value in grid[name]:
            _check_size(name, value)
    return grid


_SIZE_BOUNDS = {"epochs": MAX_STEPS, "batch_size": MAX_IMAGES}


def _check_size(name, value):
    """The size bounds of the other options hold for --param values too."""
    if name in _SIZE_BOUNDS and isinstance(value, int) and not isinstance(value, bool):
        check_at_most(value, _SIZE_BOUNDS[name], f"--param {name}")
    if name == "model":
        check_plain_model(value, "--param model")


def _value_key(value):
    """What makes two --param values one candidate: 1, 1.0 and 1e0 are one number; a name
    ignores case and spaces."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return "".join(value.split()).lower() if isinstance(value, str) else repr(value)


def _cell(value, fmt="{:.3f}"):
    return "-" if value is None else fmt.format(value)


def _print_ranked(result):
    cands, s = result["candidates"], result["settings"]
    others = any(set(r["params"]) - {"weight_init", "init_scale"} for r in cands)
    searches = len(result["searches"])
    rows = []
    for r in cands:
        row = [r["rank"], r["params"].get("weight_init", "he_normal"), f"{r['init_scale']:g}", f"{r['init_std']:.2g}"]
        if others:
            row.append(", ".join(f"{k}={v}" for k, v in sorted(r["params"].items())
                                 if k not in ("weight_init", "init_scale")))
        row += ["diverged" if r["mean"] is None else f"{r['mean']:.3f} +- {r['std']:.3f}",   # NaN in a fold
                f"{r['failed']}/{searches * s['folds']}"]
        rows.append(row)
    columns = ["rank", "init", "init_scale", "init std"] + (["other params"] if others else []) + \
        ["val. accuracy", "failed folds"]
    ui.print_table(f"{s['folds']}-fold CV on {s['dataset']} ({s['n_cv']} examples), repeated over {searches} seeds, "
                   "ranked by validation accuracy (mean +- std over the seeds)", columns, rows)
    tested = [t for t in result["test_accuracy"] if t is not None]
    if result["best"] and tested:
        ui.console.print(f"best: {result['best']['params']}, validation accuracy {result['best_score']:.3f}; each "
                         f"seed's best refit on its {s['n_cv']} CV examples: median test accuracy "
                         f"{result['median_test_accuracy']:.3f} on {s['n_test']} held-out examples")


def write_csv(path: Path, searches: list) -> Path:
    """Every seed's cv_results_ as one CSV table: one row per (seed, candidate), params as their
    own columns, the seed first."""
    keys = [k for k in searches[0]["cv_results"] if k != "params"]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["seed"] + keys)
        for search in searches:
            results = search["cv_results"]
            for i in range(len(results["params"])):
                writer.writerow([search["seed"]] + ["" if results[k][i] is None else results[k][i] for k in keys])
    return path


def check_dataset(name) -> str:
    """A dataset name data.load knows, checked without loading it (see data.check_name)."""
    from ..data import check_name
    try:
        check_name(name)
    except InitlabError as exc:
        raise named("--dataset", exc) from None
    return name


_ADDRESS = re.compile(r"(?:(?P<scheme>[a-z][a-z0-9+.-]*)://)?(?P<host>[^\s:/\[\]]+|\[[0-9a-fA-F:.]+\]):(?P<port>\d{1,5})")


def check_search_options(args):
    """--folds and the form of --scheduler's address, each error naming its option (--jobs and
    --backend/--scheduler as a pair are the lab runner's to check)."""
    if args.folds is not None:
        positive_int(args.folds, "--folds", minimum=2)
    if args.scheduler is not None and args.backend == "dask":
        match = _ADDRESS.fullmatch(args.scheduler)
        host = match["host"] if match else ""
        # a host name's labels are 1 to 63 ASCII characters (else the resolver raises UnicodeError)
        named_host = host.startswith("[") or (host.isascii() and all(1 <= len(part) <= 63 for part in host.split(".")))
        if not (match and named_host and (match["scheme"] or "tcp") in ("tcp", "tls", "ws", "wss", "ucx")
                and 1 <= int(match["port"]) <= 65535):
            raise InvalidValueError(f"--scheduler: expected an address such as tcp://HOST:8786 (tcp, tls, ws, "
                                    f"wss or ucx; port 1 to 65535), got {args.scheduler!r}")


def check_against_data(study, kwargs: dict, grid_given: bool):
    """What needs the data, checked on it as the study loads it: --folds at most the smallest
    class's count among the examples cross-validated in any seed's split (stratified folds need
    one of each), and --model and every --param candidate build a network for its images."""
    from ..estimator import CNNClassifier
    dataset, n = kwargs.get("dataset", "digits"), kwargs.get("n")
    try:
        count, label, total = study.smallest_class(dataset, n, kwargs["seeds"])
        image_shape, num_classes = study.shape_of(dataset, n)
    except InitlabError as exc:          # a malformed MNIST file, ...
        raise named("--dataset", exc) from None
    folds = kwargs.get("folds", 5)
    if folds > count:
        raise InvalidValueError(
            f"--folds: expected at most {count}, the examples of the smallest class (class {label}) among the "
            f"{total} cross-validated, got {folds}" + (" (a larger --n gives more)" if n is not None else ""))
    model = kwargs.get("model", "small_cnn")
    grid = study.param_grid(kwargs.get("grid"), kwargs.get("scales", study.SCALES), kwargs.get("schemes", study.SCHEMES))
    for option, params in [("--model", {})] + [("--param", c) for c in study.candidates(grid)]:
        try:
            study.layer_stds(CNNClassifier(**{"model": model, **params}), image_shape, num_classes)
        except InitlabError as exc:
            given = ", ".join(f"{k}={v!r}" for k, v in params.items()) if grid_given else ""
            raise InvalidValueError(f"{option}{' ' + given if given else ''}: {exc}") from None


def check_run_options(kwargs: dict):
    """The options the study reads only once it runs (after --out is made): dataset, model and
    the numbers, each error naming its option."""
    from ..estimator import check_model
    if "dataset" in kwargs:
        check_dataset(kwargs["dataset"])
    if "model" in kwargs:
        try:
            check_model(kwargs["model"])
        except InitlabError as exc:
            raise named("--model", exc) from None
        check_plain_model(kwargs["model"])
    for key in ("n", "epochs"):
        if kwargs.get(key) is not None:
            positive_int(kwargs[key], f"--{key}")
    if kwargs.get("lr") is not None:
        real_number(kwargs["lr"], "--lr", low=0, low_open=True)
    if kwargs.get("clip_grad_norm") is not None:
        real_number(kwargs["clip_grad_norm"], "--clip", low=0, low_open=True)


def cv(args) -> int:
    from ..experiments import cv as study
    kwargs = study_preset(args, study)
    if args.param:
        kwargs["grid"] = parse_params(args.param)
    for key in ("folds", "epochs", "n", "dataset", "model", "lr"):
        value = getattr(args, key)
        if value is not None:
            kwargs[key] = value
    if args.clip is not None:
        kwargs["clip_grad_norm"] = args.clip
    check_search_options(args)
    check_run_options(kwargs)
    try:
        study.check_grid(study.param_grid(kwargs.get("grid"), kwargs.get("scales", study.SCALES),
                                          kwargs.get("schemes", study.SCHEMES)))
    except InitlabError as exc:
        raise named("--param", exc) from None
    check_against_data(study, kwargs, bool(args.param))
    # after the options are known to be good; a folder holding this study's searches is reused
    with executor(args) as running, output_folder(args.out, args.force, resumes=[study.NAME]) as out:
        result, paths = run_study("cv", "cv", kwargs, out, _print_ranked, running)
        paths.append(write_csv(out / "cv_results.csv", result["searches"]))
        paths.append(write_json(out / "cv_results.json", {str(s["seed"]): s["cv_results"] for s in result["searches"]}))
    report_written(paths, out, result["timing"])
    return 0


def register(sub):
    p = sub.add_parser("cv", help="cross-validate the init std with scikit-learn's GridSearchCV (local or Dask)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--param", action="append", default=[], metavar="NAME=V1,V2,...",
                   help="a CNNClassifier parameter and its values (repeatable; commas inside "
                        "parentheses belong to the value, e.g. weight_init=he_normal,normal(std=0.01))")
    p.add_argument("--folds", type=int, default=None, help="stratified folds (default 5)")
    p.add_argument("--dataset", default=None, help="digits (default), shapes or mnist:PATH")
    p.add_argument("--n", type=int, default=None, help="cap on the examples used (default: all)")
    p.add_argument("--epochs", type=int, default=None, help="training epochs per fit (default 4)")
    p.add_argument("--model", default=None, help="small_cnn (default), lenet5 or plain:DEPTHxWIDTH")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default 0.03, SGD with momentum 0.9)")
    p.add_argument("--clip", type=float, default=None, metavar="NORM",
                   help="clip the gradient norm (default: no clipping, so a too-large std may diverge)")
    add_common(p, default_out="initlab-cv", default_seeds="8")
    return finish_parser(p, cv, "--seeds, --n, --folds, --epochs")
