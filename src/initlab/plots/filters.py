"""Figures for the filters study: the first layer's kernels as pictures, and whether an X appears.

Labelling convention for image grids (kernels, feature maps): every image panel has a title and
the figure a suptitle; axes with curves or points also have x/y labels with units and a legend.
"""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np

from ..experiments.filters import LABELS
from . import drawing_language, drawn, fonts, new_figure

COLORS = {"he_normal": "tab:blue", "glorot_uniform": "tab:green", "hand": "tab:orange",
          "hand_frozen": "tab:red"}
CMAP = "RdBu_r"

WORDS = {
    "en": {"starts": LABELS, "templates": {}, "sep": ", ",
           "grid_title": "First-layer {k}x{k} kernels during training ({start}, seed {seed})",
           "grid_row": "step {step}: best templates {best}", "kernels": "kernel 1 .. {n} (each scaled to its max |w|)",
           "step_n": "step {step}", "positive": "positive weight", "negative": "negative weight",
           "match_suptitle": "Each kernel's best template match during training ({start})",
           "kernel_best": "kernel {j}: {template}", "chance95": "chance: 95% of random kernels score below",
           "step": "training step", "best_corr": "best |correlation| with a template (0..1)",
           "match_title": "legend: the template each kernel matches best at the end",
           "question_suptitle": "Is an X kernel learned by itself? Template scores against chance",
           "null_range": "random kernels, untrained: 5th..95th pct", "null_median": "random kernels: median",
           "before": "{start}: before", "after": "{start}: after", "template": "hand-made template",
           "kernel_corr": "best kernel's |correlation| (0..1)",
           "answer": "X: {above}/{runs} runs above chance after training", "no_random": "no random start in this run",
           "closest_suptitle": "The hand-made X and the learned kernel most like it",
           "hand_x": "hand-made x_shape (X score 1.00)", "at_init": "that kernel at step 0 (X score {score:.2f})",
           "trained": "after training (X score {score:.2f})", "column": "column (kernel pixels)",
           "row": "row (kernel pixels)", "scale": "weight / max |weight|",
           "which": "{start}, seed {seed}, kernel {index}",
           "maps_suptitle": "Feature maps of one X image (first layer, {start}, seed {seed}, after training; "
                            "bright = strong response)",
           "input_x": "input: an X (pixels)", "x_response": "hand-made x_shape's response",
           "learned": "learned kernel {j} (after ReLU)",
           "curves_suptitle": "Hand-made first layer vs random: learning curves", "whole": "whole run",
           "early": "the first sixth", "val_acc": "validation accuracy (fraction correct)",
           "gif_title": "First-layer kernels ({start}, seed {seed})"},
    "ja": {"starts": {"he_normal": "ランダム(He 正規分布)", "glorot_uniform": "ランダム(Glorot 一様分布)",
                      "hand": "手作り、学習する", "hand_frozen": "手作り、固定"}, "sep": "、",
           "templates": {"x": "X", "plus": "十字", "diagonal": "斜線 \\", "antidiagonal": "斜線 /", "hline": "横線",
                         "vline": "縦線", "edge_x": "エッジ x", "edge_y": "エッジ y", "edges": "エッジ(全方向)"},
           "grid_title": "学習中の第 1 層の {k}x{k} カーネル({start}、シード {seed})",
           "grid_row": "ステップ {step}: 最も近いテンプレート {best}",
           "kernels": "カーネル 1 .. {n}(それぞれ最大 |w| で割った値)",
           "step_n": "ステップ {step}", "positive": "正の重み", "negative": "負の重み",
           "match_suptitle": "学習中、各カーネルに最もよく合うテンプレートとの一致度({start})",
           "kernel_best": "カーネル {j}: {template}", "chance95": "偶然の水準: ランダムなカーネルの 95% はこれより下",
           "step": "学習ステップ", "best_corr": "テンプレートとの最大の |相関|(0..1)",
           "match_title": "凡例: 学習の終わりに各カーネルが最もよく合うテンプレート",
           "question_suptitle": "X のカーネルは自然に学習されるか? テンプレートとの一致度と偶然の水準",
           "null_range": "学習前のランダムなカーネル: 5〜95 パーセンタイル", "null_median": "ランダムなカーネル: 中央値",
           "before": "{start}: 学習前", "after": "{start}: 学習後", "template": "手作りのテンプレート",
           "kernel_corr": "最もよく合うカーネルの |相関|(0..1)",
           "answer": "X: 学習後に偶然の水準を超えた実行 {above}/{runs}", "no_random": "この実行にランダムな初期値はない",
           "closest_suptitle": "手作りの X と、それに最も近い学習済みカーネル",
           "hand_x": "手作りの x_shape(X との一致度 1.00)", "at_init": "そのカーネルのステップ 0(X との一致度 {score:.2f})",
           "trained": "学習後(X との一致度 {score:.2f})", "column": "列(カーネルのピクセル)",
           "row": "行(カーネルのピクセル)", "scale": "重み / 最大 |重み|",
           "which": "{start}、シード {seed}、カーネル {index}",
           "maps_suptitle": "X の画像 1 枚の特徴マップ(第 1 層、{start}、シード {seed}、学習後。明るい = 強い反応)",
           "input_x": "入力: X(ピクセル)", "x_response": "手作りの x_shape の反応",
           "learned": "学習したカーネル {j}(ReLU 後)",
           "curves_suptitle": "手作りの第 1 層とランダム: 学習曲線", "whole": "実行全体",
           "early": "最初の 6 分の 1", "val_acc": "検証精度(正解の割合)",
           "gif_title": "第 1 層のカーネル({start}、シード {seed})"},
}


def _color(name, index=0):
    return COLORS.get(name, f"C{(index + 4) % 10}")


def _label(result, name, lang="en"):
    return WORDS[lang]["starts"].get(name) or result.get("labels", {}).get(name, name)


def _template(name, lang):
    return WORDS[lang]["templates"].get(name, name)


def _bare(ax):
    ax.grid(False)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def mosaic(kernels, gap=1):
    """(n, k, k) kernels side by side, each scaled to its own max |w| (the shape is what matters,
    not the size); NaN between tiles -> (k, n (k + gap) - gap)."""
    kernels = np.asarray(kernels, dtype=float)
    n, kh, kw = kernels.shape
    image = np.full((kh, n * (kw + gap) - gap), np.nan)
    for j, k in enumerate(kernels):
        peak = np.abs(k).max()
        image[:, j * (kw + gap): j * (kw + gap) + kw] = k / peak if peak > 0 else k
    return image


def snapshot_rows(steps, count=5):
    """Indices of at most `count` snapshots: step 0, then steps nearest to last / 8, / 4, / 2 and
    the last (kernels change most early on, so the early steps get more rows)."""
    steps = np.asarray(steps)
    if len(steps) <= count:
        return list(range(len(steps)))
    targets = [0] + [steps[-1] / 2 ** k for k in range(count - 2, -1, -1)]
    return sorted({int(np.abs(steps - t).argmin()) for t in targets})


def _best_names(result, scores, lang="en"):
    names = result["template_names"]
    return [_template(names[int(t)], lang) for t in np.asarray(scores).argmax(axis=1)]


@drawn
def filter_grid(result, lang):
    """The first random run's first-layer kernels at a few points in training: one row per
    snapshot, one tile per kernel (each scaled to its own max |w|), labelled with its best template."""
    w = WORDS[lang]
    evo = result["evolution"]
    steps = result["steps"]
    rows = snapshot_rows(steps)
    width, k = np.shape(evo["weights"])[1:3]
    cmap = plt.get_cmap(CMAP).with_extremes(bad="white")
    fig, axes = new_figure(len(rows), 1, width=max(6.4, 0.9 * width), height=1.25 * len(rows) + 1.0,
                           title=w["grid_title"].format(k=k, start=_label(result, evo["start"], lang), seed=evo["seed"]))
    axes = np.atleast_1d(axes).ravel()
    for ax, i in zip(axes, rows):
        ax.imshow(mosaic(evo["weights"][i]), cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
        _bare(ax)
        best = _best_names(result, evo["scores"][i], lang)
        ax.set_title(w["grid_row"].format(step=steps[i], best=w["sep"].join(best)), fontsize=7)
        ax.set_xlabel(w["kernels"].format(n=width), fontsize=7)
        ax.set_ylabel(w["step_n"].format(step=steps[i]), fontsize=7)
    handles = [plt.Line2D([], [], marker="s", linestyle="none", color=plt.get_cmap(CMAP)(1.0), label=w["positive"]),
               plt.Line2D([], [], marker="s", linestyle="none", color=plt.get_cmap(CMAP)(0.0), label=w["negative"])]
    axes[-1].legend(handles=handles, fontsize=7, loc="upper right", bbox_to_anchor=(1.0, -0.3), ncol=2)
    return fig


@drawn
def best_match(result, lang):
    """Each kernel's best template score against the training step (first random run), with the
    template it matches best at the end, and what a random kernel scores by chance."""
    w = WORDS[lang]
    evo = result["evolution"]
    steps = np.asarray(result["steps"])
    scores = np.asarray(evo["scores"], dtype=float)             # snapshots x width x templates
    best = scores.max(axis=2)
    final = _best_names(result, scores[-1], lang)
    fig, ax = new_figure(width=7.2, height=4.2,
                         title=w["match_suptitle"].format(start=_label(result, evo["start"], lang)))
    for j in range(best.shape[1]):
        ax.plot(steps, best[:, j], color=f"C{j % 10}", label=w["kernel_best"].format(j=j + 1, template=final[j]))
    null = result.get("null", {}).get(evo["start"])
    if null:
        ax.axhline(null["single_p95"], color="black", linestyle="--", linewidth=0.9, label=w["chance95"])
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(w["step"])
    ax.set_ylabel(w["best_corr"])
    ax.set_title(w["match_title"], fontsize=8)
    ax.legend(fontsize=7, ncol=2, loc="upper left")
    return fig


@drawn
def x_question(result, lang):
    """Per template: the chance range of the best-of-width score for untrained random kernels
    (5th..95th percentile, median tick) and every random run's best kernel before (hollow) and
    after (filled) training. Above the bar = better than chance."""
    w = WORDS[lang]
    names = result["template_names"]
    fig, ax = new_figure(width=8.4, height=4.2, title=w["question_suptitle"])
    xs = np.arange(len(names))
    starts = result["random_starts"]
    if starts:
        nulls = [result["null"][s] for s in starts]
        p5 = np.mean([n["p5"] for n in nulls], axis=0)
        p50 = np.mean([n["p50"] for n in nulls], axis=0)
        p95 = np.mean([n["p95"] for n in nulls], axis=0)
        ax.bar(xs, p95 - p5, bottom=p5, width=0.6, color="0.85", label=w["null_range"])
        ax.scatter(xs, p50, marker="_", s=200, color="0.4", label=w["null_median"])
    spread = np.linspace(-0.2, 0.2, max(len(starts), 1))
    for i, start in enumerate(starts):
        run = result["runs"][start]
        before = np.asarray(run["best_before"], dtype=float)
        after = np.asarray(run["best_after"], dtype=float)
        for seed in range(len(after)):
            ax.scatter(xs + spread[i], before[seed], facecolors="none", edgecolors=_color(start, i), s=18,
                       label=w["before"].format(start=_label(result, start, lang)) if seed == 0 else None)
            ax.scatter(xs + spread[i], after[seed], color=_color(start, i), s=18,
                       label=w["after"].format(start=_label(result, start, lang)) if seed == 0 else None)
    ax.set_xticks(xs)
    ax.set_xticklabels([_template(n, lang) for n in names], rotation=30, fontsize=8)
    ax.set_ylim(0, 1.3)   # room for the legend above the points
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_xlabel(w["template"])
    ax.set_ylabel(w["kernel_corr"])
    answer = result.get("answer", {}).get("x")
    ax.set_title(w["answer"].format(above=answer["above_chance_after"], runs=answer["runs"])
                 if answer else w["no_random"], fontsize=8)
    ax.legend(fontsize=6, ncol=3, loc="upper center")
    return fig


@drawn
def x_closest(result, lang):
    """The hand-made x_shape kernel beside the learned kernel closest to it (over every random
    run), at its start and after training; sign chosen to correlate positively with the X."""
    w = WORDS[lang]
    c = result["closest"]
    fig, axes = new_figure(1, 3, width=8.4, height=3.3, title=w["closest_suptitle"])
    panels = [(w["hand_x"], c["template"]), (w["at_init"].format(score=c["score_at_init"]), c["kernel_at_init"]),
              (w["trained"].format(score=c["score"]), c["kernel"])]
    for ax, (title, kernel) in zip(axes[0], panels):
        k = np.asarray(kernel, dtype=float)
        peak = np.abs(k).max() or 1.0
        shown = ax.imshow(k / peak, cmap=CMAP, vmin=-1, vmax=1, interpolation="nearest")
        _bare(ax)
        ax.set_title(title, fontsize=8)
        ax.set_xlabel(w["column"], fontsize=7)
        ax.set_ylabel(w["row"], fontsize=7)
    fig.colorbar(shown, ax=axes[0].tolist(), fraction=0.03, label=w["scale"])
    which = w["which"].format(start=_label(result, c["start"], lang), seed=c["seed"], index=c["index"] + 1)
    axes[0][2].legend(handles=[plt.Line2D([], [], linestyle="none", label=which)],
                      fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), handlelength=0, frameon=False)
    return fig


@drawn
def feature_maps(result, lang):
    """One X image, the plain x_shape kernel's response to it, and the trained first layer's
    feature maps (after ReLU) of the same image."""
    w = WORDS[lang]
    fm = result["feature_maps"]
    maps = np.asarray(fm["maps"], dtype=float)
    n = len(maps) + 2
    cols = min(n, 5)
    rows = math.ceil(n / cols)
    fig, axes = new_figure(rows, cols, width=2.1 * cols, height=2.1 * rows + 0.6,
                           title=w["maps_suptitle"].format(start=_label(result, fm["start"], lang), seed=fm["seed"]))
    axes = np.asarray(axes).ravel()
    panels = [(w["input_x"], fm["image"], "gray"), (w["x_response"], fm["x_shape_map"], "magma")]
    panels += [(w["learned"].format(j=j + 1), m, "magma") for j, m in enumerate(maps)]
    for ax, (title, image, cmap) in zip(axes, panels):
        ax.imshow(np.asarray(image, dtype=float), cmap=cmap, interpolation="nearest")
        _bare(ax)
        ax.set_title(title, fontsize=7)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    return fig


@drawn
def hand_vs_random(result, lang):
    """Validation accuracy against the training step for every start (mean over seeds, band =
    min..max): the whole run, and its first quarter."""
    w = WORDS[lang]
    steps = np.asarray(result.get("curve_steps", result["steps"]))
    fig, axes = new_figure(1, 2, width=10.5, height=3.8, title=w["curves_suptitle"])
    early = steps <= max(steps[-1] // 6, steps[min(2, len(steps) - 1)])
    for ax, keep, title in ((axes[0][0], slice(None), w["whole"]), (axes[0][1], early, w["early"])):
        for i, start in enumerate(result["starts"]):
            acc = np.asarray(result["runs"][start]["val_acc"], dtype=float)[:, keep]
            ax.plot(steps[keep], acc.mean(axis=0), color=_color(start, i), label=_label(result, start, lang))
            if len(acc) > 1:
                ax.fill_between(steps[keep], acc.min(axis=0), acc.max(axis=0), color=_color(start, i), alpha=0.15)
        ax.set_title(title)
        ax.set_xlabel(w["step"])
        ax.set_ylabel(w["val_acc"])
        ax.legend(fontsize=7, loc="lower right")
    return fig


def write_gif(result, path, fps=4, lang="en"):
    """An animated GIF of the first random run's kernels over every snapshot (PillowWriter).
    Returns the path, or None when Pillow is not available."""
    with plt.rc_context(fonts(lang)):
        return _write_gif(result, path, fps, drawing_language(lang))


def _write_gif(result, path, fps, lang):
    try:
        from matplotlib.animation import FuncAnimation, PillowWriter
        import PIL  # noqa: F401  (PillowWriter needs it; fail here rather than in save)
    except ImportError:
        return None
    w = WORDS[lang]
    evo = result["evolution"]
    steps = result["steps"]
    weights = np.asarray(evo["weights"], dtype=float)
    cmap = plt.get_cmap(CMAP).with_extremes(bad="white")
    fig, ax = new_figure(width=max(5.0, 0.8 * weights.shape[1]), height=2.2,
                         title=w["gif_title"].format(start=_label(result, evo["start"], lang), seed=evo["seed"]))
    image = ax.imshow(mosaic(weights[0]), cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
    _bare(ax)
    ax.set_xlabel(w["kernels"].format(n=weights.shape[1]), fontsize=7)

    def frame(i):
        image.set_data(mosaic(weights[i]))
        ax.set_title(w["step_n"].format(step=steps[i]), fontsize=8)
        return (image,)

    animation = FuncAnimation(fig, frame, frames=len(weights), blit=False)
    animation.save(str(path), writer=PillowWriter(fps=fps), dpi=90)
    plt.close(fig)
    return path


FIGURES = {"filters_grid": filter_grid, "filters_best_match": best_match, "filters_x_question": x_question,
           "filters_x_closest": x_closest, "filters_feature_maps": feature_maps,
           "filters_hand_vs_random": hand_vs_random}
ANIMATIONS = {"filters_evolution": write_gif}
