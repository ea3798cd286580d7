"""The HTML report in a real headless Chromium: it renders, shows its charts, fetches nothing.

Chromium is started by the test (Debian's /usr/bin/chromium) with a fresh
profile, writing a screenshot, the rendered DOM and a NetLog of every network
request it made.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageStat

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "golden" / "report"))

import report_fixture

from engine.analytics import ReportOptions, build_report, render_html, suppress

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars"]

pytestmark = pytest.mark.e2e


def _chromium(tmp: Path, name: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    profile = tmp / f"profile-{name}"
    proc = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True, timeout=120, check=False,
    )
    if proc.returncode != 0:
        pytest.fail(f"chromium exited {proc.returncode}: {proc.stderr.decode(errors='replace')[-2000:]}")
    return proc


@pytest.fixture(scope="module")
def html_report(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("browser-report")
    snap, logs = report_fixture.build(root)
    with build_report(ReportOptions(logs=str(logs), snapshot=str(snap))) as rep:
        page = root / "report.html"
        page.write_text(render_html(suppress(rep.data, 5)), encoding="utf-8")
    return page


def test_report_renders_with_charts_and_no_network(html_report, tmp_path):
    shot = tmp_path / "shot.png"
    netlog = tmp_path / "net.json"
    _chromium(tmp_path, "shot", f"--screenshot={shot}", "--window-size=1280,2400",
              f"--log-net-log={netlog}", "--net-log-capture-mode=Default", html_report.as_uri())
    dom = _chromium(tmp_path, "dom", "--dump-dom", html_report.as_uri()).stdout.decode()

    # it rendered the report, with its charts as SVG
    assert "Spring sale" in dom and "unique human clickers" in dom
    charts = dom.count('class="chart"')
    assert charts >= 6, f"expected the charts of two campaigns, found {charts}"
    assert dom.count("<svg") >= charts

    # the screenshot is not blank: real pixels vary
    with Image.open(shot) as img:
        gray = img.convert("L")
        assert gray.size == (1280, 2400)
        stat = ImageStat.Stat(gray)
        assert stat.stddev[0] > 15, f"screenshot looks blank (stddev {stat.stddev[0]:.1f})"
        # charts draw colour: some pixels are far from grey
        hsv = img.convert("RGB").resize((320, 600)).convert("HSV")
        saturation = hsv.split()[1].histogram()
        coloured = sum(saturation[90:])
        assert coloured > 200, f"no chart colours on screen ({coloured} coloured pixels)"

    # the page made no network request (Chromium's own background fetches,
    # initiator "not an origin", are not the page's)
    assert _page_requests(netlog) == []


def _page_requests(netlog: Path) -> list[str]:
    events = json.loads(netlog.read_text() or "{}").get("events", [])
    found = set()
    for e in events:
        p = e.get("params") or {}
        url = p.get("url", "")
        if url.startswith(("http:", "https:", "ws:", "wss:")) and p.get("initiator", "not an origin") != "not an origin":
            found.add(url)
    return sorted(found)


def test_the_network_check_would_catch_a_fetch(tmp_path):
    """Control: a page with one remote image is caught by the same check."""
    page = tmp_path / "leaky.html"
    page.write_text('<html><body><p>x</p><img src="http://127.0.0.1:9/pixel.png"></body></html>')
    netlog = tmp_path / "net.json"
    _chromium(tmp_path, "leaky", f"--log-net-log={netlog}", "--dump-dom", page.as_uri())
    assert _page_requests(netlog) == ["http://127.0.0.1:9/pixel.png"]
