"""The phone pages in a real browser: Debian's Chromium, headless, driven by Playwright, against
`repcounter serve` playing a real clip from ../shared/data/clips.

One daemon and one logged-in phone serve the whole module, in the order a person meets the
pages: first-run setup, the login wall, the live count during the clip, the history, the
settings. Screenshots at phone size (390 x 844) go to test-artifacts/screenshots/; with
UPDATE_SCREENSHOTS=1 the live, history and settings ones are also copied to docs/screenshots/
for the README. Only 127.0.0.1 is reached.
"""

from __future__ import annotations

import csv
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed: pip install -e '.[dev]'"
)

CHROMIUM = Path("/usr/bin/chromium")
if not os.access(CHROMIUM, os.X_OK):
    pytest.skip(
        f"{CHROMIUM} is absent: the browser tests need Debian's Chromium "
        "(apt-get install chromium)",
        allow_module_level=True,
    )

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"
# A steady side-view set of 8 squats (14 s), several of them shallow enough for "go deeper".
CLIP = "darebee_squat.mp4"
PASSWORD = "squat-rack-42"
PHONE = {"width": 390, "height": 844}
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 15_000

CANVAS_PIXELS_JS = """() => {
  const canvas = document.getElementById("skeleton");
  if (!canvas.width || !canvas.height) return 0;
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let drawn = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) drawn += 1;
  return drawn;
}"""

# Records every text the cue banner shows, so a short-lived cue is not missed between polls.
WATCH_CUES_JS = """() => {
  window.cuesSeen = [];
  const banner = document.getElementById("cue-banner");
  new MutationObserver(() => {
    if (!banner.hidden && banner.textContent) window.cuesSeen.push(banner.textContent);
  }).observe(banner, { attributes: true, childList: true, characterData: true, subtree: true });
}"""


def screenshot(page, name: str, publish: bool = False, full_page: bool = False) -> None:
    """Save a phone-size screenshot as a test artifact (and for the README when asked)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    if publish and os.environ.get("UPDATE_SCREENSHOTS") == "1":
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS_SCREENSHOTS / f"{name}.png")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def clip(shared_data: Path) -> tuple[Path, int, int]:
    """The clip and its true count range (reps, reps_max) from truth.tsv."""
    with (shared_data / "clips" / "truth.tsv").open(newline="") as handle:
        row = next(r for r in csv.DictReader(handle, delimiter="\t") if r["file"] == CLIP)
    return shared_data / "clips" / CLIP, int(row["reps"]), int(row["reps_max"])


class Serve:
    """`repcounter serve` on 127.0.0.1 with its own data folder; can be stopped and restarted."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        repcounter = Path(sys.executable).with_name("repcounter")
        command = [
            str(repcounter if repcounter.exists() else shutil.which("repcounter")),
            "serve", "--data-dir", str(self.data_dir),
            "--host", "127.0.0.1", "--port", str(self.port),
        ]  # fmt: skip
        log_path = self.data_dir / "serve.log"
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{self.base}/api/auth", timeout=2):
                    return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"repcounter serve did not start:\n{log_path.read_text()}")
                time.sleep(0.2)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    serve = Serve(tmp_path_factory.mktemp("daemon"))
    serve.start()
    yield serve
    serve.stop()


@pytest.fixture(scope="module")
def server(daemon: Serve) -> str:
    """The daemon's base URL."""
    return daemon.base


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=LAUNCH_ARGS, headless=True
        )
        yield chromium
        chromium.close()


def new_phone(browser, base: str):
    context = browser.new_context(viewport=PHONE, base_url=base, locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    return context


@pytest.fixture(scope="module")
def script_errors() -> list[str]:
    """Uncaught exceptions and console errors of the phone's pages (network failures aside)."""
    return []


@pytest.fixture(scope="module")
def phone(browser, server: str, script_errors: list[str]) -> Iterator:
    """A phone that went through first-run setup on the page; it stays logged in."""
    context = new_phone(browser, server)
    context.on("weberror", lambda error: script_errors.append(str(error.error)))
    context.on(
        "console",
        lambda message: (
            script_errors.append(message.text)
            if message.type == "error" and "Failed to load resource" not in message.text
            else None
        ),
    )
    page = context.new_page()
    page.goto("/")
    assert page.url.endswith("/setup"), "before setup every page leads to first-run setup"
    assert page.locator("link[href$='css/app.css']").count() == 1, "the styled setup page"
    screenshot(page, "setup")
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/")
    assert page.locator("#rep-count").is_visible()
    page.close()
    yield context
    context.close()


def test_pages_redirect_to_login_without_a_session(browser, server: str, phone) -> None:
    stranger = new_phone(browser, server)
    page = stranger.new_page()
    for path in ("/", "/history", "/settings"):
        page.goto(path)
        assert page.url == f"{server}/login", f"{path} without a session must lead to the login"
    assert stranger.request.get("/api/preview.mjpeg").status == 401
    assert page.locator("link[href$='css/app.css']").count() == 1, "the styled login page"
    page.fill("#password", "not the password")
    page.click("button[type=submit]")
    sync_api.expect(page.locator("[role=alert]")).to_contain_text("Wrong password")
    screenshot(page, "login")
    stranger.close()


def test_live_page_counts_the_clip_with_skeleton_and_cues(phone, server: str, clip) -> None:
    path, reps, reps_max = clip
    live = phone.new_page()
    live.goto("/")
    sync_api.expect(live.locator("#conn")).to_have_text("Live")
    live.evaluate(WATCH_CUES_JS)

    # Point the appliance at the clip through the settings page, as a user picks a camera.
    settings = phone.new_page()
    settings.goto("/settings")
    settings.fill("#f-camera-source", str(path))
    settings.select_option("#f-camera-file-pace", "realtime")
    settings.click("#save")
    sync_api.expect(settings.locator("#save-status")).to_contain_text("Saved")
    settings.close()

    count = live.locator("#rep-count")
    most_pixels = 0
    deadline = time.monotonic() + 90
    shot = False
    while time.monotonic() < deadline:
        most_pixels = max(most_pixels, live.evaluate(CANVAS_PIXELS_JS))
        shown = int(count.inner_text())
        if not shot and shown >= reps // 2 and most_pixels:
            screenshot(live, "live", publish=True)
            shot = True
        if live.locator("#health-camera").inner_text() == "Camera ended" and shown >= reps:
            break
        live.wait_for_timeout(200)
    shown = int(count.inner_text())
    assert reps <= shown <= reps_max, f"the page counted {shown}, the truth is {reps}..{reps_max}"
    assert most_pixels > 100, "the skeleton canvas was never drawn"
    cues = live.evaluate("window.cuesSeen")
    assert cues, "no cue banner appeared during the clip"
    assert live.locator("#exercise").inner_text() == "Squats"
    live.close()


def test_history_lists_the_set(phone, clip) -> None:
    _path, reps, reps_max = clip
    page = phone.new_page()
    page.goto("/history")
    row = page.locator(".session tbody tr").first
    sync_api.expect(row.locator("th")).to_contain_text("Squats")
    assert reps <= int(row.locator("td").nth(0).inner_text()) <= reps_max
    assert page.locator("#reps-chart canvas").count() == 1
    assert page.locator("#depth-chart canvas").count() == 1
    screenshot(page, "history", publish=True, full_page=True)

    page.click("[data-period=week]")
    sync_api.expect(page.locator("#reps-chart-title")).to_have_text("Reps per week")
    assert page.locator("#reps-chart canvas").count() == 1
    for fmt in ("csv", "json"):
        with page.expect_download() as download:
            page.click(f"a[href$='format={fmt}']")
        assert download.value.suggested_filename == f"repcounter-history.{fmt}"
    page.close()


def test_settings_save_and_show_the_servers_validation_error(phone) -> None:
    page = phone.new_page()
    page.goto("/settings")
    sync_api.expect(page.locator("#running")).to_contain_text("Running now: MoveNet lightning")
    screenshot(page, "settings", publish=True)

    page.click("#camera-test")
    sync_api.expect(page.locator("#camera-test-status")).to_contain_text("Snapshot taken")
    assert page.eval_on_selector("#snapshot", "image => image.naturalWidth") > 0
    screenshot(page, "settings-camera-test")

    page.fill("#f-workout-set-idle-s", "25")
    page.click("#save")
    sync_api.expect(page.locator("#save-status")).to_contain_text("Saved (workout)")

    width = page.locator("#f-camera-width")
    width.fill("5")
    page.click("#save")
    error = page.locator("#f-camera-width-error")
    sync_api.expect(error).to_contain_text("greater than or equal to 160")
    sync_api.expect(width).to_have_attribute("aria-invalid", "true")
    sync_api.expect(page.locator("#save-status")).to_contain_text("Not saved")
    width.scroll_into_view_if_needed()
    screenshot(page, "settings-error")
    page.reload()
    sync_api.expect(page.locator("#f-workout-set-idle-s")).to_have_value("25")
    sync_api.expect(page.locator("#f-camera-width")).to_have_value("640")
    page.close()


def test_live_page_reconnects_by_itself(phone, daemon: Serve) -> None:
    page = phone.new_page()
    page.goto("/")
    conn = page.locator("#conn")
    sync_api.expect(conn).to_have_text("Live")
    daemon.stop()
    sync_api.expect(conn).to_have_text("Reconnecting…")
    daemon.start()
    sync_api.expect(conn).to_have_text("Live", timeout=30_000)
    sync_api.expect(page.locator("#health-fps")).not_to_have_text("- fps")
    page.close()


def test_no_script_errors(script_errors: list[str]) -> None:
    assert script_errors == []
