"""The report in a real headless browser (Debian's chromium), at a desktop width (1280 px) and a
phone width (390 px): nothing overflows the page, every image has alt text and a caption.
Skipped where no chromium is installed (.ci/run installs it, so CI always runs it)."""
import html
import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from initlab import report
from initlab.plots import new_figure, save

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(BROWSER is None, reason="no chromium on this machine (apt-get install chromium)")

CHECK = """<script>
window.addEventListener('load', function () {
  var width = window.innerWidth, over = [];
  document.querySelectorAll('body *').forEach(function (el) {
    if (el.closest('.scroll') || el.closest('script')) return;        // tables scroll inside their box
    var r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > width + 1) over.push(el.tagName + ' ' + Math.round(r.right));
  });
  var images = Array.from(document.querySelectorAll('img')).map(function (img) {
    var fig = img.closest('figure'), cap = fig && fig.querySelector('figcaption');
    return {alt: img.alt, caption: cap ? cap.textContent.trim() : ''};
  });
  document.body.setAttribute('data-check', JSON.stringify({width: width, over: over, images: images,
    scroll: document.documentElement.scrollWidth}));
});
</script>"""


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    fig, axes = new_figure(1, 3, width=14, height=4, title="a wide three-panel figure")
    for ax in np.ravel(axes):
        ax.plot(np.arange(10), np.arange(10) ** 2, label="a line")
        ax.set_title("panel")
        ax.set_xlabel("step (updates)")
        ax.set_ylabel("loss (nats)")
    png = save(fig, folder / "depth_curves.png")
    claim = {"id": "x", "claim": "a long claim " * 20, "claim_ja": "長い主張" * 30, "verdict": "inconclusive",
             "holds": False, "evidence": True, "k": 5, "n": 8, "p": 0.36328125, "effect": 1.2345678e-05,
             "interval": [1.1e-05, 9.87654e-05], "effect_name": "a long effect name " * 3, "lower_bound": False,
             "why": "5 of 8 seeds went the claimed way " * 3, "why_ja": "理由" * 20}
    sections = [{"id": "depth", "figures": [png], "claims": [claim] * 3, "result": {}}]
    pages = {}
    for lang in ("en", "ja"):
        text = report.render(sections, lang=lang).replace("</body>", CHECK + "</body>")
        path = folder / f"index-{lang}.html"
        path.write_text(text, encoding="utf-8")
        pages[lang] = path
    return pages


WRAPPER = """<!DOCTYPE html><html><body style="margin:0">
<iframe id="page" style="width:{width}px;height:900px;border:0" srcdoc="{page}"></iframe>
<script>
document.getElementById('page').addEventListener('load', function () {{
  var inner = this.contentDocument.body;
  setTimeout(function () {{ document.body.setAttribute('data-check', inner.getAttribute('data-check')); }}, 500);
}});
</script></body></html>"""


def measure(path, width):
    """Headless chromium's window is at least 500 px wide: a phone's 390 px is an iframe that wide."""
    if width < 500:
        wrapped = path.with_name(f"{path.stem}-{width}.html")
        wrapped.write_text(WRAPPER.format(width=width, page=html.escape(path.read_text(encoding="utf-8"))),
                           encoding="utf-8")
        path = wrapped
    out = subprocess.run([BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                          "--disable-background-networking", "--disable-component-update", "--disable-sync",
                          f"--user-data-dir={path.parent / f'profile-{width}'}", f"--window-size={width if width >= 500 else 520},900",
                          "--virtual-time-budget=3000", "--dump-dom", path.as_uri()],
                         capture_output=True, text=True, timeout=120)
    found = re.search(r'data-check="([^"]*)"', out.stdout)
    assert found, out.stderr[-2000:]
    return json.loads(html.unescape(found[1]))


@pytest.mark.parametrize("lang", ["en", "ja"])
@pytest.mark.parametrize("width", [1280, 390])
def test_nothing_overflows_and_every_image_is_described(page, lang, width):
    check = measure(page[lang], width)
    assert check["width"] == width
    assert check["over"] == [] and check["scroll"] <= width, check
    assert check["images"] and all(i["alt"] and i["caption"] for i in check["images"]), check["images"]


def test_the_check_catches_an_overflowing_page(tmp_path):
    path = tmp_path / "bad.html"
    path.write_text('<!DOCTYPE html><html><head><meta name="viewport" content="width=device-width"></head><body>'
                    '<div style="width:900px">wide</div><img src="data:," alt="">' + CHECK + "</body></html>")
    check = measure(path, 390)
    assert check["over"] and check["scroll"] > 390 and not check["images"][0]["alt"]
