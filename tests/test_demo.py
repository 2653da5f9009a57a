"""`initlab demo` end to end at test size: every study, the report, the PNGs, results.json."""
import json
from html import escape
from html.parser import HTMLParser

import pytest

from initlab import report
from initlab.cli import main
from initlab.cli.demo import STUDIES


class Ids(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.imgs = set(), []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "img":
            self.imgs.append(attrs["src"])


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "ja"])
def test_tiny_demo_writes_a_complete_report(tmp_path, capsys, lang):
    out = tmp_path / "report"
    assert main(["demo", "--tiny", "--out", str(out), "--lang", lang]) == 0
    html = (out / "index.html").read_text(encoding="utf-8")
    parser = Ids()
    parser.feed(html)
    assert {sid for sid, _ in STUDIES} <= parser.ids
    pngs = sorted(out.glob("*.png"))
    assert len(pngs) >= 2 * len(STUDIES) and len(parser.imgs) >= len(pngs)
    assert all(src.startswith("data:image/") for src in parser.imgs)
    results = json.loads((out / "results.json").read_text())
    assert {sid for sid, _ in STUDIES} <= set(results)
    assert all("claims" in results[sid] for sid, _ in STUDIES)
    assert report.prose("propagate", lang)[0] in html
    claims = [c for sid, _ in STUDIES for c in results[sid]["claims"]]
    assert claims and all(c["claim_ja"].strip() and c["claim_ja"] != c["claim"] for c in claims)
    if lang == "ja":       # every study's claims are in Japanese in the Japanese report
        assert all(escape(c["claim_ja"]) in html and escape(c["claim"]) not in html for c in claims)
    if lang == "en":   # refuses to overwrite without --force
        assert main(["demo", "--tiny", "--out", str(out), "--only", "conv"]) == 2
        assert "--force" in capsys.readouterr().err


def test_demo_rejects_unknown_study_and_language(tmp_path, capsys):
    assert main(["demo", "--only", "symetry", "--out", str(tmp_path / "a")]) == 2
    assert main(["demo", "--lang", "fr", "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert "symetry" in err and "fr" in err
    assert not (tmp_path / "a").exists()


def test_only_takes_the_command_name_too(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["demo", "--tiny", "--only", "zero-mean", "--out", str(out)]) == 0
    assert set(json.loads((out / "results.json").read_text())) - {"seconds"} == {"zero_mean"}
