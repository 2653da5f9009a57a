"""Every study's figures in English and Japanese (`lang`): the Japanese figures' titles, axis
labels, legends, colorbar and panel labels are Japanese, with none of the English figure's
words left in them (technical symbols and proper names aside); the English ones have no
Japanese; the glyphs render from the `ja` extra's font; without that font they stay English.
Curves that coincide stay visible (symmetry: zeros under constant)."""
import importlib
import re
import warnings

import numpy as np
import pytest

from initlab import plots
from initlab.plots import close, coinciding, overlap_style, save
from initlab.report import japanese_font_file

STUDIES = ("conv", "symmetry", "zero_mean", "propagate", "depth", "optimizers", "phase", "deep", "filters",
           "prefilters", "pretrain", "cv")

needs_font = pytest.mark.skipif(japanese_font_file() is None, reason="the ja extra (matplotlib-fontja) is not installed")

JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff01-\uff5e]")
# names and symbols that stay as they are in both languages: activations, authors, optimizers,
# layer classes, math (identifiers with _, =, ^, digits are skipped by `words` itself)
TECHNICAL = {"ReLU", "relu", "tanh", "sigmoid", "Glorot", "glorot", "LeCun", "LSUV", "lsuv", "PCA", "SGD", "Adam",
             "Sobel", "Dense", "CNN", "sqrt", "lambda", "He", "he"}
PHRASES = ("k-means",)


def words(text: str) -> set:
    """The English words of `text`: runs of 3+ letters in tokens that are not identifiers or
    math (no _, =, ^, /, |, digits), technical names left out."""
    for phrase in PHRASES:
        text = text.replace(phrase, " ")
    tokens = re.split(r"[\s、。（）\[\]:;,?!]+", text)
    found = set()
    for token in tokens:
        if re.search(r"[_=^/|\d\\]", token):
            continue
        found |= set(re.findall(r"[A-Za-z]{3,}", token))
    return found - TECHNICAL


def texts(fig) -> dict:
    """{kind: [strings]} of a figure: titles (suptitle, figure texts, axes titles), axis labels
    (colorbars included), legend entries, and the words on categorical tick labels."""
    out = {"title": [], "label": [], "legend": [], "ticks": [], "annotation": []}
    if fig._suptitle is not None:
        out["title"].append(fig._suptitle.get_text())
    out["title"] += [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        out["title"] += [ax.get_title(loc) for loc in ("left", "center", "right")]
        out["label"] += [ax.get_xlabel(), ax.get_ylabel()]
        if ax.get_legend() is not None:
            out["legend"] += [t.get_text() for t in ax.get_legend().get_texts()]
        out["ticks"] += [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels()
                         if re.search(r"[^\W\d_]", t.get_text())]
        out["annotation"] += [t.get_text() for t in ax.texts]
    return {kind: [s for s in strings if s.strip()] for kind, strings in out.items()}


_results = {}


def result_of(study):
    """The study's tiny run (computed once per test session)."""
    if study not in _results:
        experiment = importlib.import_module(f"initlab.experiments.{study}")
        _results[study] = experiment.run(**experiment.TINY)
    return _results[study]


def draw(study, name, lang):
    return importlib.import_module(f"initlab.plots.{study}").FIGURES[name](result_of(study), lang)


def check_japanese(name, en, ja):
    """The Japanese figure's texts `ja` against the English figure's `en` (see `texts`)."""
    english = set().union(*(words(s) for strings in en.values() for s in strings))
    assert english, f"{name}: the English figure has no words to translate"
    left = {s: words(s) & english for strings in ja.values() for s in strings if words(s) & english}
    assert not left, f"{name}: English words left in the Japanese figure: {left}"
    for kind in ("title", "label", "legend"):     # each kind of text the English figure has words in
        if any(words(s) for s in en[kind]):
            assert any(JAPANESE.search(s) for s in ja[kind]), f"{name}: no Japanese {kind}: {ja[kind]}"
    # mathtext draws only its own fonts: a $...$ beside Japanese would be boxes
    assert not [s for strings in ja.values() for s in strings if "$" in s and JAPANESE.search(s)], name


@needs_font
@pytest.mark.slow
@pytest.mark.parametrize("study", STUDIES)
def test_figures_in_japanese_and_english(study, tmp_path, caplog):
    """Per figure: Japanese with no English word of the English figure left; English with no
    Japanese, the same as the default; the Japanese PNG (and GIF) saved with every glyph from a
    font that has it (matplotlib warns "Glyph ... missing from font(s)" when it draws a box)."""
    module = importlib.import_module(f"initlab.plots.{study}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for name, make in module.FIGURES.items():
            en_fig, default, ja_fig = make(result_of(study), "en"), make(result_of(study)), make(result_of(study), "ja")
            try:
                en, ja = texts(en_fig), texts(ja_fig)
                assert not [s for strings in en.values() for s in strings if JAPANESE.search(s)], name
                assert en == texts(default), f"{name}: lang='en' is not the default"
                check_japanese(name, en, ja)
            finally:
                close(en_fig)
                close(default)
            assert save(ja_fig, tmp_path / f"{name}.png").stat().st_size > 0
        for name, write in getattr(module, "ANIMATIONS", {}).items():
            write(result_of(study), tmp_path / f"{name}.gif", lang="ja")
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    missing += [r.getMessage() for r in caplog.records if "glyph" in r.getMessage()]
    assert not missing, missing[:3]


def test_an_untranslated_label_is_caught():
    en = {"title": ["Test accuracy"], "label": ["training step"], "legend": ["chance"], "ticks": [], "annotation": []}
    ja = {"title": ["テスト精度"], "label": ["training step"], "legend": ["偶然の水準"], "ticks": [], "annotation": []}
    with pytest.raises(AssertionError, match="English words left"):
        check_japanese("f", en, ja)
    ja["label"] = ["学習ステップ"]
    check_japanese("f", en, ja)
    assert words("normal(std=1), he_normal, k-means of patches, sigma_w^2 (fan_in) ReLU") == {"patches"}


@pytest.mark.slow
def test_without_the_font_japanese_figures_stay_english(monkeypatch):
    monkeypatch.setattr(plots, "_registered_japanese_font", lambda: False)
    fig = draw("conv", "conv_feature_map", "ja")
    try:
        found = texts(fig)
        assert not [s for strings in found.values() for s in strings if JAPANESE.search(s)]
        assert found["title"][0] == "The X kernel stepping over an image of an X"
    finally:
        close(fig)
    assert plots.drawing_language("ja") == "en"


def test_an_unknown_figure_language_is_refused():
    from initlab.errors import UnknownNameError
    with pytest.raises(UnknownNameError, match="figure language 'fr'"):
        plots.drawing_language("fr")


def test_coinciding_finds_equal_curves_only():
    curves = {"zeros": [1.0, 1.0, 1.0], "constant": [1.0, 1.0, 1.0], "random": [0.1, 0.05, 0.02]}
    assert coinciding(curves) == {"constant": "zeros"}
    assert coinciding({"a": [1e-17, 1e-17], "b": [1e-15, 1e-16]}, atol=0) == {}
    assert coinciding({"a": [np.nan, 1.0], "b": [np.nan, 1.0]}) == {"b": "a"}


def test_overlap_styles_differ():
    looks = [overlap_style(i, 20) for i in range(4)]
    keys = [(look.get("ls", "-"), look.get("marker"), look["lw"]) for look in looks]
    assert len(set(keys)) == 4


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "ja"])
def test_symmetry_zeros_and_constant_both_visible(lang):
    """zeros and constant both stay at similarity 1: two distinct lines, and the legend says they coincide."""
    result = result_of("symmetry")
    fig = importlib.import_module("initlab.plots.symmetry").similarity(result, lang)
    try:
        ax = fig.axes[0]
        lines = {line.get_label(): line for line in ax.get_lines()}
        zeros = next(line for label, line in lines.items() if label.startswith(("zeros", "すべて 0")))
        constant = next(line for label, line in lines.items() if label.startswith(("constant", "定数")))
        assert np.allclose(zeros.get_ydata(), constant.get_ydata())         # they do coincide
        assert (zeros.get_linestyle(), zeros.get_marker(), zeros.get_linewidth()) != \
            (constant.get_linestyle(), constant.get_marker(), constant.get_linewidth())
        assert constant.get_linewidth() < zeros.get_linewidth()              # the later one drawn inside
        legend = [t.get_text() for t in ax.get_legend().get_texts()]
        assert any(("coincide" if lang == "en" else "重なる") in t for t in legend), legend
    finally:
        close(fig)


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_demo_draws_its_figures_in_its_language(tmp_path, monkeypatch, lang):
    """`initlab demo --lang` reaches the figure functions (and the GIF writers)."""
    from initlab.cli import main
    conv_figures = importlib.import_module("initlab.plots.conv")
    seen = []

    def spy(result, lang="en", draw=conv_figures.feature_map):
        seen.append(lang)
        return draw(result, lang)
    monkeypatch.setitem(conv_figures.FIGURES, "conv_feature_map", spy)
    assert main(["demo", "--tiny", "--only", "conv", "--jobs", "1", "--lang", lang, "--out", str(tmp_path / "r")]) == 0
    assert seen == [lang]
    assert (tmp_path / "r" / "conv_feature_map.png").stat().st_size > 0
