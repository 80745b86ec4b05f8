"""The setup guide in a real browser (Debian's Chromium, headless, Playwright): first-run
password, people, a camera chosen from the list with test pictures, the placement check, Home
Assistant with "Test connection" naming what failed, and the address to bookmark. Against an
in-process daemon with the stand-in model; its cameras are video files standing in for the
devices this machine does not have. Screenshots as in tests/test_browser.py."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from device.capture.discovery import Camera
from device.daemon import config
from tests.test_api import clip as generated_clip  # noqa: F401 (a fixture)
from tests.test_api import serve
from tests.test_browser import browser, screenshot, set_password, sync_api  # noqa: F401
from tests.test_mqtt import MOSQUITTO, Broker, free_port


def solid_clip(path, bgr: tuple[int, int, int]) -> str:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (320, 240))
    for _ in range(10):
        writer.write(np.full((240, 320, 3), bgr, np.uint8))
    writer.release()
    return str(path)


@pytest.fixture
def appliance(tmp_path, generated_clip):  # noqa: F811
    settings = config.Settings(camera={"file_loop": True}, server={"threads": 8})
    with serve(tmp_path / "data", generated_clip, settings, {"host": "0.0.0.0", "port": 0}) as d:
        cameras = [
            Camera(solid_clip(tmp_path / "red.avi", (0, 0, 255)), "USB webcam (red)", "usb"),
            Camera(solid_clip(tmp_path / "blue.avi", (255, 0, 0)), "USB webcam (blue)", "usb"),
        ]
        d.app.extensions["cameras"] = lambda: cameras
        yield d, cameras


def test_the_setup_guide_walks_every_step(browser, appliance, tmp_path):  # noqa: F811
    daemon, cameras = appliance
    base = f"http://127.0.0.1:{daemon.port}"
    errors: list[str] = []
    context, page = set_password(browser, base, errors)

    # People: "Me" is there; add someone.
    sync_api.expect(page.locator("#people")).to_be_visible()
    sync_api.expect(page.locator("#people-list li")).to_have_text(["Me"])
    page.fill("#person-name", "Sam")
    page.click("#person-form button[type=submit]")
    sync_api.expect(page.locator("#people-list li")).to_have_count(2)
    assert sorted(p["name"] for p in daemon.store.people()) == ["Me", "Sam"]
    screenshot(page, "welcome-people", publish=True)
    page.click("#people a.primary")

    # Camera: the list of the cameras found, a test picture from each, no free-text field.
    sync_api.expect(page.locator("#camera")).to_be_visible()
    choice = page.locator("#camera-source-choice")
    sync_api.expect(choice.locator("option")).to_have_count(len(cameras) + 2)
    assert page.locator("#camera-source").is_hidden()
    choice.select_option(cameras[0].source)
    page.click("#camera .camera-picture-button")
    picture = page.locator("#camera .camera-picture")
    sync_api.expect(picture).to_be_visible()
    page.wait_for_function("() => document.querySelector('#camera .camera-picture').naturalWidth")
    red = page.evaluate("""() => {
      const img = document.querySelector('#camera .camera-picture');
      const canvas = document.createElement('canvas');
      canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
      const ctx = canvas.getContext('2d'); ctx.drawImage(img, 0, 0);
      return Array.from(ctx.getImageData(canvas.width / 2, canvas.height / 2, 1, 1).data);
    }""")
    assert red[0] > 200 and red[2] < 60, red  # the red camera's picture
    screenshot(page, "welcome-camera", publish=True)
    choice.select_option("other")  # the advanced path: a stream or a file
    assert page.locator("#camera-source").is_visible()
    choice.select_option(cameras[1].source)
    page.click("#camera-save")
    page.wait_for_url(f"{base}/welcome#placement")
    assert daemon.settings.camera.source == cameras[1].source

    # Placement: the check page, and back into the guide.
    page.click("#placement-check")
    page.wait_for_url(f"{base}/placement?next=welcome")
    page.click("#placement-skip")
    page.wait_for_url(f"{base}/welcome#mqtt")

    # Home Assistant: "Test connection" names what failed.
    closed = free_port()
    page.fill("#mqtt-host", "127.0.0.1")
    page.fill("#mqtt-port", str(closed))
    page.click("#mqtt-test")
    sync_api.expect(page.locator("#mqtt-status")).to_contain_text("connection refused")
    screenshot(page, "welcome-mqtt", publish=True)
    if MOSQUITTO:
        broker = Broker(tmp_path, users={"ha": "broker password"})
        broker.start()
        try:
            page.fill("#mqtt-port", str(broker.port))
            page.fill("#mqtt-username", "ha")
            page.fill("#mqtt-password", "wrong password")
            page.click("#mqtt-save")
            sync_api.expect(page.locator("#mqtt-status")).to_contain_text("user name or password")
            assert not daemon.settings.mqtt.enabled  # a failed test saves nothing
            page.fill("#mqtt-password", "broker password")
            page.click("#mqtt-save")
            page.wait_for_url(f"{base}/welcome#done")
            assert daemon.settings.mqtt.enabled and daemon.settings.mqtt.port == broker.port
        finally:
            broker.kill()
    else:
        page.click("#mqtt a[data-skip]")
        page.wait_for_url(f"{base}/welcome#done")

    # Done: the addresses to bookmark (hostname.local and the LAN addresses).
    addresses = page.locator("#addresses a")
    sync_api.expect(addresses.first).to_contain_text(f".local:{daemon.port}")
    screenshot(page, "welcome-done", publish=True)
    page.click("#start")
    page.wait_for_url(f"{base}/")
    page.goto("/settings")
    page.click("#welcome-again")
    page.wait_for_url(f"{base}/welcome")
    sync_api.expect(page.locator("#people")).to_be_visible()
    assert errors == []
    context.close()


def test_every_step_can_be_skipped(browser, appliance):  # noqa: F811
    daemon, _ = appliance
    base = f"http://127.0.0.1:{daemon.port}"
    context, page = set_password(browser, base, [])
    before = daemon.settings
    for step, following in (("people", "camera"), ("camera", "placement"),
                            ("placement", "mqtt"), ("mqtt", "done")):  # fmt: skip
        sync_api.expect(page.locator(f"#{step}")).to_be_visible()
        page.click(f"#{step} [data-skip]")
        page.wait_for_url(f"{base}/welcome#{following}")
    sync_api.expect(page.locator("#done")).to_be_visible()
    assert daemon.settings == before and len(daemon.store.people()) == 1
    context.close()
