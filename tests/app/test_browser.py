"""The workshop page in a real browser: Playwright driving Debian's chromium.

One server (``escsim app --port P`` as a subprocess, 40 paired replicates) serves every test of
this module, in order: the page loads offline (every request the browser makes goes to
localhost), a lever change updates the table and the figure, a bad lever value shows a message
and the server keeps serving, the One replicate tab steps day by day, and the Export tab
downloads the results directory (replayed exactly) and the brief. Screenshots go to a temporary
directory (``ESCSIM_SCREENSHOTS`` overrides it). Skipped only when /usr/bin/chromium is absent
(CI installs it, see ``.ci/run``).
"""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.conftest import ROOT, SCENARIOS

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
RUNS = 40
# generous: a cold numba cache compiles the kernel inside the server on a shared 2-core machine
START_S = 300
COMPUTE_MS = 600_000

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="/usr/bin/chromium is absent (CI installs it: .ci/run)"
)


def free_port() -> int:
    """Return a free TCP port on localhost."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    """Directory of the screenshots."""
    where = os.environ.get("ESCSIM_SCREENSHOTS")
    path = Path(where) if where else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Start ``escsim app`` on a free port; yield its URL and workspace; stop it."""
    port = free_port()
    workspace = tmp_path_factory.mktemp("workspace")
    log = workspace.parent / "server.log"
    env = {
        **os.environ,
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
        "NUMBA_NUM_THREADS": os.environ.get("NUMBA_NUM_THREADS", "1"),
    }
    command = [sys.executable, "-m", "sim.cli", "app", "--port", str(port)]
    command += ["--runs", str(RUNS), "--workspace", str(workspace), "--scenarios", str(SCENARIOS)]
    with open(log, "w") as fh:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + START_S
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"escsim app did not start:\n{log.read_text()[-3000:]}")
        time.sleep(1)
    yield url, workspace, proc, log
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def browser_page(server):
    """A chromium page on the app; every request's URL is recorded in ``page.requests``."""
    from playwright.sync_api import sync_playwright

    url = server[0]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(
            viewport={"width": 1500, "height": 1100}, accept_downloads=True
        )
        page = context.new_page()
        page.requests = []
        page.on("request", lambda r: page.requests.append(r.url))
        page.goto(url, timeout=120_000)
        page.wait_for_selector(".escsim-status >> text=paired replicates", timeout=COMPUTE_MS)
        yield page
        context.close()
        browser.close()


def status(page) -> str:
    """Return the status line of the Compare tab."""
    return page.locator(".escsim-status").last.inner_text()


def image_bytes(page, selector: str) -> bytes:
    """Return the bytes of the image shown by ``selector`` (fetched by the browser)."""
    data = page.eval_on_selector(
        selector,
        """async (el) => {
            const img = el.tagName === 'IMG' ? el : el.querySelector('img');
            const r = await fetch(img.src);
            const b = new Uint8Array(await r.arrayBuffer());
            let s = ''; for (const x of b) s += String.fromCharCode(x);
            return btoa(s);
        }""",
    )
    return base64.b64decode(data)


def lever(page, label: str, panel: int = 0):
    """Return the input of a lever in the n-th scenario's panel."""
    return page.get_by_label(label, exact=True).nth(panel)


FIGURES = ".escsim-fans img, img.escsim-fans, .escsim-thresholds img, img.escsim-thresholds"


def figure_sources(page) -> list[str]:
    """Return the sources of the fan charts' and threshold curves' images."""
    return page.eval_on_selector_all(FIGURES, "els => els.map(e => e.src)")


def wait_updated(page, before: str, figures: list[str] | None = None) -> str:
    """Wait until the status line differs from ``before`` (and, given the images' sources
    before, both figures are new: they are updated in place, maybe after the status); return
    the status line."""
    page.wait_for_function(
        """([before, figures, selector]) => {
            const s = [...document.querySelectorAll('.escsim-status')].map(e => e.innerText);
            const err = document.querySelector('.escsim-error');
            if (err) return true;
            if (!(s.length && s[s.length - 1] !== before && s[s.length - 1]
                .includes('paired replicates'))) return false;
            if (figures === null) return true;
            const now = [...document.querySelectorAll(selector)];
            return now.length === figures.length && now.every((e, i) => e.src !== figures[i]);
        }""",
        arg=[before, figures, FIGURES],
        timeout=COMPUTE_MS,
    )
    return status(page)


def test_page_loads_offline(browser_page, shots):
    page = browser_page
    assert f"{RUNS} paired replicates per scenario" in status(page)
    table = page.locator(".escsim-table").inner_text()
    assert "Attacks on US targets" in table and "strong_us_retaliation - status_quo" in table
    assert "The answer over the posterior" in table and "total 90% (posterior)" in table
    assert "over the posterior and at the fitted point" in status(page)
    assert len(image_bytes(page, ".escsim-fans")) > 10_000
    page.screenshot(path=shots / "app_compare.png")
    hosts = {urlparse(u).hostname for u in page.requests if urlparse(u).scheme in ("http", "https")}
    assert hosts and hosts <= LOCAL_HOSTS, f"requests left localhost: {hosts - LOCAL_HOSTS}"
    assert any("/static" in u or "_solara" in u for u in page.requests)  # assets came from us


def test_the_server_fetched_nothing_from_a_cdn(browser_page, server):
    # Solara's server proxies /_solara/cdn/ to jsdelivr for assets solara-assets lacks
    log = server[3].read_text()
    assert "Could not load URL" not in log and "jsdelivr" not in log, log[-2000:]


def test_lever_change_updates_table_and_figure(browser_page, shots):
    page = browser_page
    before_status = status(page)
    before_table = page.locator(".escsim-table").inner_text()
    before_fans = image_bytes(page, ".escsim-fans")
    figures = figure_sources(page)
    assert len(figures) == 2
    box = lever(page, "US strike rate", 0)
    box.fill("0.6")
    box.press("Enter")
    after = wait_updated(page, before_status, figures)
    assert page.locator(".escsim-error").count() == 0, page.locator(".escsim-error").inner_text()
    # the table is updated in place too, maybe just after the status line
    page.locator(".escsim-table").filter(has_text="status_quo_edited").wait_for(timeout=10_000)
    assert "status_quo_edited" in page.locator(".escsim-table").inner_text()
    assert page.locator(".escsim-table").inner_text() != before_table
    assert image_bytes(page, ".escsim-fans") != before_fans
    assert "updated in" in after
    page.screenshot(path=shots / "app_lever_changed.png")


def test_bad_lever_value_shows_a_message_and_the_server_lives(browser_page, server, shots):
    page = browser_page
    box = lever(page, "US strike rate", 0)
    box.fill("-1")
    box.press("Enter")
    page.wait_for_selector(".escsim-error", timeout=60_000)
    message = page.locator(".escsim-error").inner_text()
    assert "US strike rate" in message and "found -1" in message
    page.screenshot(path=shots / "app_bad_lever.png")
    box.fill("lots")
    box.press("Enter")
    page.wait_for_selector(".escsim-error >> text=expected a number", timeout=60_000)
    assert server[2].poll() is None  # the server still runs
    with urllib.request.urlopen(server[0], timeout=10) as r:
        assert r.status == 200
    box.fill("0.6")  # back to a good value: the page recovers (the comparison is reused)
    box.press("Enter")
    page.wait_for_selector(".escsim-error", state="detached", timeout=COMPUTE_MS)
    page.wait_for_selector(".escsim-status >> text=paired replicates", timeout=COMPUTE_MS)
    assert "status_quo_edited" in page.locator(".escsim-table").inner_text()


def test_one_replicate_tab_steps_day_by_day(browser_page, shots):
    page = browser_page
    page.get_by_role("tab", name="One replicate").click()
    step = page.get_by_role("button", name="Step", exact=True)
    step.wait_for(timeout=120_000)
    page.wait_for_selector(".escsim-feed >> text=Day 0 of", timeout=120_000)
    for k in (1, 2, 3):
        step.click()
        page.wait_for_selector(f".escsim-feed >> text=Day {k} of", timeout=60_000)
    text = page.locator(".escsim-feed").inner_text()
    assert "Day 3 of 823: 03 Oct 2019" in text
    page.screenshot(path=shots / "app_replicate.png")
    page.get_by_role("tab", name="Compare").click()


def test_export_downloads_a_replayable_results_directory_and_the_brief(
    browser_page, tmp_path, shots
):
    from sim.replay import replay

    page = browser_page
    page.get_by_role("tab", name="Export").click()
    with page.expect_download(timeout=COMPUTE_MS) as dl:
        page.get_by_text("Download the results directory (zip)").click()
    archive = tmp_path / "export.zip"
    dl.value.save_as(archive)
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(tmp_path / "x")
    (root,) = (tmp_path / "x").iterdir()
    assert (root / "comparison.json").exists() and (root / "brief.pdf").exists()
    assert (root / "comparison.md").read_text().count("status_quo_edited") >= 1
    edited = root / "status_quo_edited"
    assert (edited / "manifest.json").exists() and (root / "plots" / "fans.png").exists()
    report = replay(edited, runs=3)
    assert report.identical, report.differences
    with page.expect_download(timeout=COMPUTE_MS) as dl:
        page.get_by_text("Download the brief (PDF)").click()
    pdf = tmp_path / "brief.pdf"
    dl.value.save_as(pdf)
    assert pdf.read_bytes()[:5] == b"%PDF-"
    page.screenshot(path=shots / "app_export.png")
    hosts = {urlparse(u).hostname for u in page.requests if urlparse(u).scheme in ("http", "https")}
    assert hosts <= LOCAL_HOSTS, f"requests left localhost: {hosts - LOCAL_HOSTS}"
