"""The HTML report: self-contained, every section, valid (the conv study's own tests are in test_exp_conv)."""
from html import escape
from html.parser import HTMLParser

import pytest

from initlab import report
from initlab.errors import UnknownNameError
from initlab.experiments import conv
from initlab.plots import conv as conv_plots, save


class Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.ids, self.srcs, self.links = [], [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag not in ("img", "meta", "br", "hr", "link"):
            self.stack.append(tag)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "img":
            self.srcs.append(attrs["src"])
        if tag in ("a", "link", "script") and (attrs.get("href") or attrs.get("src")):
            self.links.append(attrs.get("href") or attrs.get("src"))

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"unbalanced </{tag}> after {self.stack[-3:]}"
        self.stack.pop()


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_report_is_self_contained_and_valid(tmp_path, lang):
    result = conv.run(**conv.TINY)
    png = save(conv_plots.feature_map(result), tmp_path / "conv_feature_map.png")
    sections = [{"id": sid, "figures": [png] if sid == "conv" else [], "claims": result["claims"],
                 "numbers": {"speedup": 12.5}} for sid in report.KNOWN_SECTIONS]
    path = report.write_report(tmp_path / "index.html", sections, lang=lang)
    text = path.read_text(encoding="utf-8")
    parser = Collector()
    parser.feed(text)
    assert parser.stack == []
    assert set(report.KNOWN_SECTIONS) <= set(parser.ids)
    assert parser.srcs and all(s.startswith("data:image/png;base64,") for s in parser.srcs)
    assert all(link.startswith("#") for link in parser.links)
    assert report.prose("conv", lang)[0] in text
    key, other = ("claim", "claim_ja") if lang == "en" else ("claim_ja", "claim")
    for c in result["claims"]:           # the claims in the report's language, not the other's
        assert escape(c[key]) in text and escape(c[other]) not in text


def test_report_rejects_unknown_language_and_section(tmp_path):
    with pytest.raises(UnknownNameError, match="language"):
        report.render([], lang="fr")
    with pytest.raises(UnknownNameError, match="no prose"):
        report.render([{"id": "nope"}])


@pytest.mark.parametrize("study", ["conv", "symmetry", "zero_mean", "propagate", "filters", "prefilters", "cv"])
def test_every_figure_has_a_japanese_caption(study):
    import importlib
    texts = importlib.import_module(f"initlab.claims.{study}")
    figures = importlib.import_module(f"initlab.plots.{study}")
    names = set(figures.FIGURES) | set(getattr(figures, "ANIMATIONS", {}))
    assert names <= set(texts.CAPTIONS_JA)
    assert all(report.caption(study, name, None, "ja") == texts.CAPTIONS_JA[name] for name in names)
    assert all(report.caption(study, name, None, "en") != texts.CAPTIONS_JA[name] for name in names)
