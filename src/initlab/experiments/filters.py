"""Study 5: how does a filter come to detect an "X"? Is an X kernel learned by itself?

A small CNN is trained on the synthetic shapes (16x16 images of x, o, plus, square, lines and
diagonals, 8 classes). `model="two_conv"` (default):

    conv 5x5 -> `width` (pad 2), ReLU, max pool 2, conv 3x3 -> 16 (pad 1), ReLU, max pool 2,
    flatten, dense 8;

`model="one_conv"`: conv 5x5 -> `width` (pad 2), ReLU, global max pool, flatten, dense 8, where
the kernels must be the shape detectors themselves (only a linear read-out follows them).

The first layer's kernels are 5x5 so that an X, a plus or a diagonal stroke can be drawn in one
kernel: at 3x3 the templates are so small that random kernels match them by chance (the best of
8 random 3x3 kernels scores above 0.8 against the X about one time in 20; at 5x5 the 95th
percentile is about 0.53), and a score would say nothing.

Measured, for each start and seed: the first layer's kernels every `every` steps, each kernel's
template scores (`diagnostics.template_scores`: |Pearson correlation| with x, plus, diagonal,
antidiagonal, hline, vline, edge_x, edge_y, edges) and the validation accuracy. Starts:

* random inits by name ("he_normal", "glorot_uniform", ...): the usual answer;
* "hand": the hand-made bank (HAND_FILTERS: edge_x, edge_y, x_shape, plus, diagonals, lines),
  each filter rescaled to the norm He's init gives a filter on average, sqrt(2 k^2 C / fan_in)
  = sqrt(2), then trained like the rest; "hand_frozen": the same, never trained (trainable=False).

For one seed every start shares the rest of the network's initial weights and the batch order,
so runs differ only in the first layer.

"Is the X filter learned by itself?" is answered against chance: for each random init, `n_null`
draws of a whole first layer from that init give the distribution of the best-of-`width` score
for each template (what random kernels score with no training at all). A template is "learned"
in a run when the best kernel after training scores above that distribution's 95th percentile.
"""
from __future__ import annotations

import math
import time

import numpy as np

from .. import data as D
from .. import filters as hand
from .. import init as I
from ..diagnostics import template_scores
from ..errors import InvalidValueError, UnknownNameError, unknown_name
from ..layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU
from ..model import Sequential
from ..optim import SGD
from ..rng import as_generator
from ..validate import positive_int, real_number
from . import claim
from .training import accuracy, train_steps

RANDOM_STARTS = ("he_normal", "glorot_uniform")
HAND_STARTS = ("hand", "hand_frozen")
STARTS = RANDOM_STARTS + HAND_STARTS
HAND_FILTERS = ("edge_x", "edge_y", "x_shape", "plus_shape", "diagonal", "antidiagonal", "hline", "vline")
LABELS = {"he_normal": "random (He normal)", "glorot_uniform": "random (Glorot uniform)",
          "hand": "hand-made, trained", "hand_frozen": "hand-made, frozen"}
CHANCE_PERCENTILE = 95
NULL_SEED = 12345      # the chance level is drawn from its own fixed stream, the same for every run

TINY = dict(starts=("he_normal", "hand"), seeds=(0,), steps=12, every=4, eval_every=2, n_images=400, n_null=200)
DEMO = dict(seeds=(0, 1), steps=400, every=25, n_null=1000)


# --------------------------------------------------------------------------- the network

def hand_bank(width, kernel_size, in_channels=1):
    """The first `width` of HAND_FILTERS at kernel_size, each filter scaled to norm sqrt(2)
    (He's expected filter norm: k*k*C weights of variance 2 / fan_in)."""
    if width > len(HAND_FILTERS):
        raise InvalidValueError(
            f"filters: width={width} needs more hand-made filters than the {len(HAND_FILTERS)} in HAND_FILTERS; "
            f"use a width of at most {len(HAND_FILTERS)} with the hand starts")
    bank = hand.bank(HAND_FILTERS[:width], in_channels, size=kernel_size).astype(np.float64)
    norms = np.linalg.norm(bank.reshape(width, -1), axis=1)
    return (bank * (math.sqrt(2.0) / norms)[:, None, None, None]).astype(np.float32)


MODELS = ("two_conv", "one_conv")


def build_model(start, width, kernel_size, num_classes, image_size, first_rng, rest_rng, model="two_conv"):
    """The study's CNN; the first layer from `start`, the others (He normal) from `rest_rng`."""
    h, w = image_size
    if start in HAND_STARTS:
        first = Conv2D(1, width, kernel_size, padding=kernel_size // 2, weight_init=hand_bank(width, kernel_size),
                       trainable=(start == "hand"))
    else:
        first = Conv2D(1, width, kernel_size, padding=kernel_size // 2, weight_init=start, rng=first_rng)
    if model == "one_conv":
        return Sequential([first, ReLU(), MaxPool2D((h, w)), Flatten(), Dense(width, num_classes, rng=rest_rng)])
    return Sequential([
        first, ReLU(), MaxPool2D(2),
        Conv2D(width, 16, 3, padding=1, rng=rest_rng), ReLU(), MaxPool2D(2),
        Flatten(), Dense(16 * (h // 4) * (w // 4), num_classes, rng=rest_rng),
    ])


# --------------------------------------------------------------------------- chance level

def null_layers(start, width, kernel_size, n_null, rng):
    """n_null first layers drawn one after another from `start`, each of the real layer's shape
    (width, 1, k, k), so its fans and any coupling between its rows (orthogonal rows, ...) are
    the real layer's -> (n_null, width, 1, k, k)."""
    rng = as_generator(rng)
    shape = (width, 1, kernel_size, kernel_size)
    return np.stack([I.initialize(start, shape, rng, dtype=np.float64) for _ in range(n_null)])


def null_distribution(start, width, kernel_size, n_null, rng):
    """What random kernels score with no training: n_null first layers drawn from `start`.

    Returns (best_of_width (n_null, templates): for each draw and template, the best score over
    the width kernels; single (n_null * width,): each kernel's best score over the templates)."""
    weights = null_layers(start, width, kernel_size, n_null, rng)
    scores, _ = template_scores(weights.reshape(n_null * width, 1, kernel_size, kernel_size))
    return scores.reshape(n_null, width, -1).max(axis=1), scores.max(axis=1)


def percentile_of(value, sample):
    """The percentage of `sample` strictly below `value` (0..100)."""
    return float(100.0 * np.mean(np.asarray(sample) < value))


# --------------------------------------------------------------------------- one run

def train_one(start, seed, ds, *, width, kernel_size, steps, every, batch_size, lr, momentum, weight_decay=0.0,
              architecture="two_conv", eval_every=None):
    """One run: kernels (and their template scores) every `every` steps, validation accuracy
    every `eval_every` steps (default: with the kernels), both at step 0 and after the last."""
    eval_every = every if eval_every is None else eval_every
    first_ss, rest_ss, order_ss = np.random.SeedSequence([seed, 5]).spawn(3)
    model = build_model(start, width, kernel_size, ds.num_classes, ds.image_size,
                        np.random.default_rng(first_ss), np.random.default_rng(rest_ss), architecture)
    snap = {"steps": [], "weights": [], "curve_steps": [], "val_acc": []}

    def on_snapshot(step):
        if step % every == 0 or step == steps:
            snap["steps"].append(step)
            snap["weights"].append(model[0].params["weight"][:, 0].copy())
        if step % eval_every == 0 or step == steps:
            snap["curve_steps"].append(step)
            snap["val_acc"].append(accuracy(model, *ds.val))

    optimizer = SGD(model, lr=lr, momentum=momentum, weight_decay=weight_decay)
    loss = train_steps(model, ds.train, optimizer, steps=steps, batch_size=batch_size,
                       rng=np.random.default_rng(order_ss), every=math.gcd(every, eval_every),
                       on_snapshot=on_snapshot, nonfinite="raise", where="filters")
    weights = np.array(snap["weights"])                               # snapshots x width x k x k
    scores, names = template_scores(weights.reshape(-1, 1, kernel_size, kernel_size))
    return {"model": model, "steps": snap["steps"], "weights": weights, "val_acc": snap["val_acc"],
            "curve_steps": snap["curve_steps"],
            "scores": scores.reshape(len(weights), width, -1), "template_names": names,
            "test_acc": accuracy(model, *ds.test), "loss": loss}


def feature_maps(model, image, kernel_size):
    """The first layer's feature maps (after ReLU) of one image (1, C, H, W) -> (width, H, W),
    and the plain (unscaled) x_shape kernel's response to it -> (H, W)."""
    maps = model[1].forward(model[0].forward(image, training=False), training=False)[0]
    x_kernel = hand.bank(["x_shape"], image.shape[1], size=kernel_size)
    from ..convolution import conv2d
    return maps, conv2d(image, x_kernel, padding=kernel_size // 2)[0, 0]


# --------------------------------------------------------------------------- the study

def check_options(starts=STARTS, seeds=(0,), width=8, kernel_size=5, model="two_conv", *, steps=600, every=25,
                  eval_every=5, batch_size=64, lr=0.02, momentum=0.9, weight_decay=0.0, n_images=3000, n_null=2000):
    """Validate the study's choices before anything runs -> (starts, seeds, width, kernel_size);
    clear errors (unknown start or initializer, sizes, counts below 1, a learning rate <= 0, ...)."""
    if model not in MODELS:
        raise unknown_name("filters model", model, MODELS)
    starts = (starts,) if isinstance(starts, str) else tuple(starts)
    if not starts:
        raise InvalidValueError(f"filters: starts: expected at least one, e.g. {', '.join(STARTS)}")
    for name in starts:
        if name not in HAND_STARTS:
            try:
                I.get(name)
            except UnknownNameError:
                if str(name).split("(")[0].split("*")[0].strip() in I.names(aliases=True):
                    raise                       # a known initializer with a bad parameter: its own message
                raise unknown_name("filters start", name, list(HAND_STARTS) + I.names(aliases=True)) from None
    seeds = tuple(positive_int(s, "filters: seed", minimum=0) for s in seeds)
    if not seeds:
        raise InvalidValueError("filters: seeds: expected at least one seed")
    width = positive_int(width, "filters: width")
    kernel_size = positive_int(kernel_size, "filters: kernel_size", minimum=3)
    if kernel_size % 2 == 0:
        raise InvalidValueError(f"filters: kernel_size must be odd (templates have a centre), got {kernel_size}")
    if any(s in HAND_STARTS for s in starts):
        hand_bank(width, kernel_size)
    for value, name in ((steps, "steps"), (every, "every"), (eval_every, "eval_every"), (batch_size, "batch_size")):
        positive_int(value, f"filters: {name}")
    positive_int(n_images, "filters: n_images", minimum=80)
    positive_int(n_null, "filters: n_null", minimum=20)
    real_number(lr, "filters: lr", low=0, low_open=True)
    real_number(momentum, "filters: momentum", low=0, high=1)
    real_number(weight_decay, "filters: weight_decay", low=0)
    return starts, seeds, width, kernel_size


def run(starts=STARTS, seeds=(0, 1, 2), *, model="two_conv", width=8, kernel_size=5, steps=600, every=25,
        eval_every=5, batch_size=64, lr=0.02, momentum=0.9, weight_decay=0.0, n_images=3000, n_null=2000,
        progress=None) -> dict:
    """Train the shapes CNN from each start for each seed; follow the first layer's kernels.

    Returns {"study", "starts", "random_starts", "labels", "template_names", "steps" (kernel
    snapshot steps), "curve_steps" (validation steps, every `eval_every`),
    "runs": {start: {"val_acc" (seeds x curve steps), "test_acc" (seeds), "scores" (seeds x snapshots
    x width x templates), "best_before"/"best_after" (seeds x templates: best kernel's score at
    step 0 / at the end), "percentile_after" (seeds x templates, random starts: where best_after
    falls in the chance distribution)}}, "null": {random start: {"p5"/"p50"/"p95" (templates),
    "single_p95"}}, "evolution" (the first random run's kernels at every snapshot), "closest" (the
    learned kernel closest to x_shape), "feature_maps" (one X image through the first layer),
    "answer" (per template: runs above chance), flat numbers, "claims", "settings", "seconds"}.
    `n_images` shapes images are split 70/10/20 (train/val/test).
    """
    starts, seeds, width, kernel_size = check_options(
        starts, seeds, width, kernel_size, model, steps=steps, every=every, eval_every=eval_every,
        batch_size=batch_size, lr=lr, momentum=momentum, weight_decay=weight_decay, n_images=n_images, n_null=n_null)
    began = time.perf_counter()
    ds = D.load("shapes", n=n_images)
    random_starts = [s for s in starts if s not in HAND_STARTS]
    total, done = len(starts) * len(seeds), 0
    runs, first_random, names = {}, None, None
    for start in starts:
        per_seed = []
        for seed in seeds:
            if progress:
                progress(done, total, f"{start} seed {seed}")
            r = train_one(start, seed, ds, width=width, kernel_size=kernel_size, steps=steps, every=every,
                          eval_every=eval_every,
                          batch_size=batch_size, lr=lr, momentum=momentum, weight_decay=weight_decay,
                          architecture=model)
            names = r["template_names"]
            if first_random is None and start in random_starts:
                first_random = (start, seed, r)
            if seed != seeds[0]:
                r["model"] = None          # only the first seed's trained net is looked at again
            per_seed.append(r)
            done += 1
        runs[start] = per_seed
    if progress:
        progress(total, total, "chance level")
    null = {s: null_distribution(s, width, kernel_size, n_null, np.random.default_rng(NULL_SEED)) for s in random_starts}
    out = {"study": "filters", "starts": list(starts), "random_starts": random_starts,
           "labels": {s: LABELS.get(s, f"random ({s})") for s in starts}, "template_names": names,
           "steps": runs[starts[0]][0]["steps"],
           "curve_steps": runs[starts[0]][0]["curve_steps"],
           "runs": {s: _collect(per_seed, null.get(s)) for s, per_seed in runs.items()},
           "null": {s: _null_summary(*null[s]) for s in random_starts}}
    evolution_run = first_random or (starts[0], seeds[0], runs[starts[0]][0])
    out["evolution"] = {"start": evolution_run[0], "seed": evolution_run[1], "weights": evolution_run[2]["weights"],
                        "scores": evolution_run[2]["scores"]}
    out["closest"] = _closest(runs, random_starts, seeds, kernel_size, names)
    trained = (first_random[2] if first_random else runs[starts[0]][0])["model"]
    out["feature_maps"] = _one_x_image(trained, ds, kernel_size, out["evolution"])
    out["answer"] = _answer(out)
    out.update(_flat_numbers(out))
    out["claims"] = _claims(out)
    out["settings"] = dict(seeds=list(seeds), model=model, width=width, kernel_size=kernel_size, steps=steps,
                           every=every, eval_every=eval_every, batch_size=batch_size, lr=lr, momentum=momentum,
                           weight_decay=weight_decay, n_images=n_images, n_train=len(ds.train[0]),
                           n_val=len(ds.val[0]), n_test=len(ds.test[0]), n_null=n_null,
                           hand_filters=list(HAND_FILTERS[:width]), chance_percentile=CHANCE_PERCENTILE,
                           classes=list(ds.class_names))
    out["seconds"] = time.perf_counter() - began
    return out


def _collect(per_seed, null):
    scores = np.array([r["scores"] for r in per_seed])                # seeds x snaps x width x T
    best = scores.max(axis=2)                                          # seeds x snaps x T
    rec = {"val_acc": np.array([r["val_acc"] for r in per_seed]),
           "test_acc": np.array([r["test_acc"] for r in per_seed]),
           "scores": scores, "best_before": best[:, 0], "best_after": best[:, -1],
           "relative_change": np.array([_relative_change(r["weights"][0], r["weights"][-1]) for r in per_seed]),
           "final_kernels": per_seed[0]["weights"][-1]}
    if null is not None:
        best_of_width = null[0]
        rec["percentile_before"] = np.array([[percentile_of(v, best_of_width[:, t]) for t, v in enumerate(row)]
                                             for row in rec["best_before"]])
        rec["percentile_after"] = np.array([[percentile_of(v, best_of_width[:, t]) for t, v in enumerate(row)]
                                            for row in rec["best_after"]])
    return rec


def _relative_change(w0, w1):
    """||W_end - W_0|| / ||W_0|| of the first layer (0 for a frozen layer)."""
    return float(np.linalg.norm(w1 - w0) / np.linalg.norm(w0))


def _null_summary(best_of_width, single):
    return {"p5": np.percentile(best_of_width, 5, axis=0), "p50": np.percentile(best_of_width, 50, axis=0),
            "p95": np.percentile(best_of_width, CHANCE_PERCENTILE, axis=0),
            "single_p95": float(np.percentile(single, CHANCE_PERCENTILE)), "n": len(best_of_width)}


def _closest(runs, random_starts, seeds, kernel_size, names):
    """Over every random run: the final kernel with the highest X score, sign-flipped so that it
    correlates positively with x_shape, with its starting kernel (flipped alike: the same
    filter) and its scores."""
    x = names.index("x")
    template = hand.x_shape(kernel_size).astype(np.float64)
    best = None
    for start in random_starts or list(runs):
        for seed, r in zip(seeds, runs[start]):
            final = r["scores"][-1][:, x]
            j = int(final.argmax())
            if best is None or final[j] > best["score"]:
                best = {"start": start, "seed": seed, "index": j, "score": float(final[j]),
                        "score_at_init": float(r["scores"][0][j, x]),
                        "kernel": r["weights"][-1][j], "kernel_at_init": r["weights"][0][j]}
    final = best["kernel"].astype(np.float64)
    sign = 1.0 if np.sum((final - final.mean()) * (template - template.mean())) >= 0 else -1.0
    for key in ("kernel", "kernel_at_init"):
        best[key] = sign * best[key].astype(np.float64)
    best["template"] = template
    return best


def _one_x_image(model, ds, kernel_size, evolution):
    x_class = list(ds.class_names).index("x")
    index = int(np.flatnonzero(ds.test[1] == x_class)[0])
    image = ds.test[0][index:index + 1]
    maps, x_map = feature_maps(model, image, kernel_size)
    return {"image": image[0, 0], "maps": maps, "x_shape_map": x_map, "start": evolution["start"],
            "seed": evolution["seed"], "test_index": index}


def _answer(out):
    """Per template, over every random run: how many runs' best kernel scores above the chance
    distribution's 95th percentile before and after training, and the mean scores."""
    names = out["template_names"]
    rows = {}
    for t, name in enumerate(names):
        after, before, p95, pct, pct0 = [], [], [], [], []
        for start in out["random_starts"]:
            r = out["runs"][start]
            after += list(r["best_after"][:, t])
            before += list(r["best_before"][:, t])
            pct += list(r["percentile_after"][:, t])
            pct0 += list(r["percentile_before"][:, t])
            p95 += [out["null"][start]["p95"][t]] * len(r["best_after"])
        if not after:
            continue
        rows[name] = {"runs": len(after), "above_chance_after": int(sum(a > p for a, p in zip(after, p95))),
                      "above_chance_before": int(sum(b > p for b, p in zip(before, p95))),
                      "mean_best_before": float(np.mean(before)), "mean_best_after": float(np.mean(after)),
                      "mean_percentile_before": float(np.mean(pct0)), "mean_percentile_after": float(np.mean(pct)),
                      "chance_p95": float(np.mean(p95))}
    return rows


def _flat_numbers(out):
    flat = {}
    x = out["answer"].get("x")
    if x:
        flat.update(x_best_score_before=x["mean_best_before"], x_best_score_after=x["mean_best_after"],
                    x_chance_p95=x["chance_p95"], x_runs_above_chance=f"{x['above_chance_after']}/{x['runs']}",
                    x_mean_percentile_after=x["mean_percentile_after"])
    for start, r in out["runs"].items():
        flat[f"{start}_final_val_acc"] = float(r["val_acc"][:, -1].mean())
        flat[f"{start}_mean_curve_val_acc"] = float(r["val_acc"].mean())
        flat[f"{start}_test_acc"] = float(r["test_acc"].mean())
    return flat


def _claims(out):
    claims, answer, runs = [], out["answer"], out["runs"]
    randoms = list(out["random_starts"])
    if randoms:
        change = np.concatenate([runs[s]["relative_change"] for s in randoms])
        claims.append(claim(
            "training does change the random first-layer kernels: ||W_end - W_0|| / ||W_0|| >= 0.3 in every run",
            change.min() >= 0.3,
            ja="学習はランダムに初期化した第 1 層のカーネルを確かに変える: どの実行でも ||W_end - W_0|| / ||W_0|| >= 0.3",
            smallest=float(change.min()), mean=float(change.mean())))
    if answer:
        x = answer["x"]
        claims.append(claim(
            "is an X kernel learned by itself? Not in this net: the best kernel's X score after training stays "
            f"within chance (below the {CHANCE_PERCENTILE}th percentile of untrained random kernels) in at least "
            "3/4 of the runs; the X class is recognized downstream, from simpler kernels",
            x["above_chance_after"] <= x["runs"] / 4,
            ja="X のカーネルはひとりでに学習されるか? このネットではされない: 学習後の最良のカーネルの X スコアは、"
               f"実行の 3/4 以上で偶然の範囲(学習前のランダムなカーネルのスコア分布の {CHANCE_PERCENTILE} パーセンタイル"
               "未満)にとどまる。X のクラスはもっと単純なカーネルから、後段の層で認識される",
            runs_above_chance=f"{x['above_chance_after']}/{x['runs']}",
            x_before=x["mean_best_before"], x_after=x["mean_best_after"], chance_p95=x["chance_p95"],
            percentile_before=x["mean_percentile_before"], percentile_after=x["mean_percentile_after"]))
        edges = [answer[n] for n in ("edge_x", "edge_y") if n in answer]
        if edges:
            gain = float(np.mean([e["mean_percentile_after"] for e in edges]))
            claims.append(claim(
                "what training does bring out looks more like oriented edges than like an X: the edge templates' "
                "mean chance percentile after training is at least 15 points above the X's",
                gain >= x["mean_percentile_after"] + 15,
                ja="学習で現れるのは X よりも向きのあるエッジに近い: 学習後、エッジのテンプレートのスコアの偶然の分布に"
                   "対するパーセンタイルの平均は、X のものより 15 ポイント以上高い",
                edges_percentile_after=gain,
                x_percentile_after=x["mean_percentile_after"],
                percentile_after={n: a["mean_percentile_after"] for n, a in answer.items()}))
    accs = {s: float(r["test_acc"].mean()) for s, r in runs.items()}
    if randoms:
        claims.append(claim(
            "every random start learns the shapes (test accuracy >= 0.9, mean over seeds)",
            min(accs[s] for s in randoms) >= 0.9,
            ja="どのランダムな初期値からも図形を学習できる(テスト精度 >= 0.9、シード平均)",
            test_acc={s: accs[s] for s in randoms}))
    if "hand" in runs and randoms:
        curve = {s: float(r["val_acc"].mean()) for s, r in runs.items()}
        best_random = max(curve[s] for s in randoms)
        claims.append(claim(
            "a hand-made first layer (edges, X, plus, strokes) learns faster than a random one: higher "
            "validation accuracy averaged over the whole run (area under the learning curve)",
            curve["hand"] > best_random,
            ja="手作りの第 1 層(エッジ、X、十字、線)はランダムなものより速く学習する: 実行全体で平均した"
               "検証精度(学習曲線の下の面積)が高い",
            hand=curve["hand"], best_random=best_random,
            **({"hand_frozen": curve["hand_frozen"]} if "hand_frozen" in curve else {})))
        x = out["template_names"].index("x")
        j = HAND_FILTERS.index("x_shape")
        if j < out["runs"]["hand"]["scores"].shape[2]:
            kept = float(runs["hand"]["scores"][:, -1, j, x].mean())
            claims.append(claim(
                "the hand-made x_shape kernel stays an X when trained (X score > 0.8 after training, mean "
                "over seeds)",
                kept > 0.8, ja="手作りの x_shape カーネルは学習しても X のまま(学習後の X スコア > 0.8、シード平均)",
                x_score_after=kept))
    return claims
