"""Issue 21 in a real browser (Debian's Chromium, headless, Playwright) against `repcounter
serve` looping the squat clip: who is training (the count box, "Counting for Me · Change"),
a new person who does not take over, a target set mid-set, the training messages of the cue
box, the controls for a wrong count (-1/+1, End set, Pause, Skip rest, +30 s), the no-camera
screen, the per-set CSV, MQTT's "Test connection" against a real mosquitto, and the settings
and person dialog on small screens.
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Iterator

import pytest

from tests.test_browser import (  # noqa: F401 (fixtures)
    AUDIO_STUBS_JS,
    CONTRAST_JS,
    PHONE,
    Serve,
    browser,
    clip,
    past_placement,
    screenshot,
    sync_api,
)
from tests.test_browser_training import WATCH_JS, api, colour_distance, play, show_count
from tests.test_mqtt import MOSQUITTO, Broker, free_port

SMALL = {"width": 360, "height": 640}


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    """A daemon that loops its video: a new set each time the clip starts again."""
    serve = Serve(tmp_path_factory.mktemp("controls"), "[camera]\nfile_loop = true\n")
    serve.start()
    yield serve
    serve.stop()


@pytest.fixture(scope="module")
def phone(browser, daemon: Serve) -> Iterator:  # noqa: F811
    """A logged-in phone (first-run setup done on the page, the placement step skipped)."""
    yield from past_placement(browser, daemon.base)


def state(page) -> dict:
    return api(page, "GET", "/api/state")


def wait_state(page, test, seconds: float, what: str) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        now = state(page)
        if test(now):
            return now
        page.wait_for_timeout(150)
    pytest.fail(f"{what} within {seconds:.0f} s; last state: {now}")


def in_a_new_set(page, seconds: float = 60) -> dict:
    """Wait for a set that has just begun (1 or 2 reps): the clip has most of its reps ahead."""
    return wait_state(
        page, lambda s: s["set"] is not None and 1 <= s["set"]["reps"] <= 2, seconds, "a new set"
    )


def playing(page, clip) -> None:  # noqa: F811
    """The looping clip as the camera (when a test runs on its own), its picture on screen."""
    source = api(page, "GET", "/api/settings")["settings"]["camera"]["source"]
    if source != str(clip[0]):
        play(page, clip[0])
    sync_api.expect(page.locator("#health-camera")).to_have_text("Camera ok", timeout=30_000)
    sync_api.expect(page.locator("#overlay")).to_be_hidden()


def test_the_no_camera_screen_says_it_once(phone) -> None:
    page = phone.new_page()
    page.goto("/")
    overlay = page.locator("#overlay[data-kind=camera-missing]")
    sync_api.expect(overlay).to_be_visible()
    sync_api.expect(page.locator("#overlay-title")).to_have_text("No camera found.")
    text = overlay.inner_text().lower()
    assert text.count("no camera found") == 1 and text.count("usb webcam") == 1, text
    lines = page.evaluate(
        """() => { const t = document.getElementById("overlay-title");
        const line = parseFloat(getComputedStyle(t).lineHeight);
        return Math.round(t.getBoundingClientRect().height / line); }"""
    )
    assert lines <= 2, f"the headline takes {lines} lines"
    page.close()


def test_who_trains_targets_cues_and_controls_on_a_served_clip(phone, clip) -> None:  # noqa: F811
    page = phone.new_page()
    page.add_init_script(AUDIO_STUBS_JS)
    page.goto("/")
    show_count(page)  # also the tap that allows sound
    api(page, "PATCH", "/api/people/1", {"rest_s": 10})
    page.evaluate(WATCH_JS)
    play(page, clip[0])

    # Whose reps: "Counting for Me · Change" at the first set, on screen and said; the name
    # on the count box.
    banner = page.locator("#counting-for")
    sync_api.expect(banner).to_be_visible(timeout=60_000)
    sync_api.expect(page.locator("#counting-for-text")).to_have_text("Counting for Me")
    sync_api.expect(page.locator("#counting-for-change")).to_be_visible()
    sync_api.expect(page.locator("#count-person")).to_have_text("Me")
    assert "Counting for Me" in page.evaluate("window.audioLog.spoken")
    assert page.evaluate(CONTRAST_JS) == [], "the counting-for box keeps its contrast"
    screenshot(page, "live-counting-for", publish=True)

    # A new person, added mid-set, does not take over: the set goes on, Me still trains.
    started = in_a_new_set(page)
    page.click("#person-add")
    page.fill("#p-name", "Ana")
    ana_colour = page.input_value("#p-colour")
    assert colour_distance(ana_colour, "#1e88e5") >= 140, ana_colour
    page.click("#p-save")
    sync_api.expect(page.locator("#person-dialog")).to_be_hidden()
    now = state(page)
    assert now["person"]["name"] == "Me"
    assert now["set"] is not None and now["set"]["set_id"] == started["set"]["set_id"]
    sync_api.expect(page.locator(".person-chip[aria-pressed=true]")).to_have_text("Me")

    # A target set mid-set applies to that set: "to go", then it ends at the target.
    target = max(5, now["set"]["reps"] + 4)
    api(page, "PATCH", "/api/people/1", {"targets": {"squat": target}})
    sync_api.expect(page.locator("#goal")).to_contain_text(f"to go · target {target}")
    ended = wait_state(
        page,
        lambda s: (s["training"]["last"] or {}).get("target") == target,
        30,
        "the set did not end at its new target",
    )
    assert ended["training"]["last"] == {
        "exercise": "squat", "reps": target, "target": target, "done": True
    }  # fmt: skip
    # The next set starts: the last set's "Done" goes with it.
    in_a_new_set(page)
    page.wait_for_timeout(300)
    seen = page.evaluate("window.seen")
    done = [i for i, s in enumerate(seen) if s["cue"].startswith("Done")]
    assert done, seen
    later = [s for s in seen[done[0] :] if not s["resting"] and s["count"] == "1"]
    assert later and all("Done" not in s["cue"] for s in later), seen[done[0] :]
    assert not any("to go" in s["cue"] for s in seen), "'to go' is the goal line, not the cue"
    api(page, "PATCH", "/api/people/1", {"targets": {"squat": None}})

    # -1/+1 on the open set, big enough to hit from a mat.
    open_set = in_a_new_set(page)["set"]
    for control in ("#ctl-minus", "#ctl-plus", "#ctl-end", "#ctl-pause"):
        box = page.locator(control).bounding_box()
        assert box["height"] >= 56 and box["width"] >= 56, (control, box)
    page.click("#ctl-plus")
    wait_state(page, lambda s: (s["set"] or {}).get("adjust") == 1, 5, "+1")
    page.click("#ctl-minus")
    wait_state(page, lambda s: (s["set"] or {}).get("adjust") == 0, 5, "-1")
    page.click("#ctl-plus")
    wait_state(page, lambda s: (s["set"] or {}).get("adjust") == 1, 5, "+1 again")
    assert page.evaluate(CONTRAST_JS) == []
    screenshot(page, "live-controls", publish=True)
    # End set now: it ends, and its +1 is a correction in the history like one made there.
    page.click("#ctl-end")
    page.click("#ctl-pause")  # pause at once, so the clip's next rep does not end the rest
    wait_state(page, lambda s: s["paused"] and s["training"]["phase"] == "rest", 5, "paused")
    stored = api(page, "GET", f"/api/sets/{open_set['set_id']}")
    assert stored["set"]["reps"] == stored["set"]["counted_reps"] + 1, stored["set"]
    [log] = stored["corrections"]
    assert log["field"] == "reps" and "live page" in log["reason"]

    # Paused: the box says so and nothing is counted; the rest can be longer or skipped.
    sync_api.expect(page.locator("#exercise")).to_have_text("Paused")
    sync_api.expect(page.locator("#ctl-pause")).to_have_text("Resume counting")
    sync_api.expect(page.locator("#ctl-longer")).to_be_visible()
    total = state(page)["training"]["rest"]["total_s"]
    page.click("#ctl-longer")
    wait_state(page, lambda s: (s["training"]["rest"] or {}).get("total_s") == total + 30, 5, "+30")
    screenshot(page, "live-paused")
    page.click("#ctl-skip")
    wait_state(page, lambda s: s["training"]["phase"] == "ready", 5, "rest skipped")
    page.wait_for_timeout(3000)
    assert state(page)["set"] is None, "nothing counted while paused"
    page.click("#ctl-pause")
    wait_state(page, lambda s: s["set"] is not None, 40, "counting again after Resume")

    # Ana's turn: her name on the box, and "Counting for Ana" at her first set.
    page.locator(".person-chip", has_text="Ana").click()
    sync_api.expect(page.locator("#count-person")).to_have_text("Ana")
    sync_api.expect(page.locator("#counting-for-text")).to_have_text(
        "Counting for Ana", timeout=40_000
    )
    page.close()


def test_the_skeleton_is_drawn_on_its_own_frame(phone, clip) -> None:  # noqa: F811
    """Each picture is drawn with the pose of its own frame (or an older one, when the model
    skipped that frame), never a newer one; and the lag this hides is measured: how long after
    its pose each picture arrives (an <img> showed the newest pose over an older picture)."""
    page = phone.new_page()
    page.goto("/")
    playing(page, clip)
    sync_api.expect(page.locator("#preview.has-image")).to_be_visible()
    samples, lags, ahead = [], [], []
    for _ in range(60):
        picture, skeleton, lag, frames = page.evaluate(
            """() => [document.getElementById("preview-frame").dataset.frame,
                      document.getElementById("skeleton").dataset.frame,
                      document.getElementById("preview-frame").dataset.lagMs,
                      document.getElementById("preview-frame").dataset.ahead]"""
        )
        if picture and skeleton:
            samples.append((int(picture), int(skeleton)))
        if lag:
            lags.append(int(lag))
        if frames:
            ahead.append(int(frames))
        page.wait_for_timeout(100)
    assert len({p for p, _ in samples}) >= 10, "the picture moves on"
    assert all(s <= p for p, s in samples), "a skeleton ahead of its picture"
    same = sum(p == s for p, s in samples) / len(samples)
    assert same >= 0.6, f"only {same:.0%} of the pictures have their own frame's pose"
    lags.sort()
    print(
        f"\npose-to-picture lag (ms): p50 {lags[len(lags) // 2]}, p90 {lags[len(lags) * 9 // 10]}"
    )
    ahead.sort()
    print(
        f"newest pose ahead of the picture (frames): p50 {ahead[len(ahead) // 2]}, "
        f"p90 {ahead[len(ahead) * 9 // 10]}, max {ahead[-1]}"
    )
    page.close()


def test_the_per_set_csv_sums_to_the_history(phone) -> None:
    page = phone.new_page()
    page.goto("/history")
    link = page.locator("#export-sets-csv")
    sync_api.expect(link).to_have_text("CSV, one row per set")
    href = link.get_attribute("href")
    assert "rows=sets" in href
    text = page.evaluate("async (url) => (await fetch(url)).text()", href)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows and {"date", "person", "exercise", "reps", "counted_reps", "corrected_reps"} <= set(
        rows[0]
    )
    sessions = api(page, "GET", "/api/sessions?limit=500")["sessions"]
    assert sum(int(r["reps"]) for r in rows) == sum(s["reps"] for s in sessions)
    corrected = [r for r in rows if r["corrected_reps"]]
    assert corrected and all(r["reps"] == r["corrected_reps"] for r in corrected)
    page.close()


@pytest.mark.skipif(MOSQUITTO is None, reason="mosquitto is not installed: apt install mosquitto")
def test_mqtt_test_connection_and_its_state(phone, tmp_path) -> None:
    broker = Broker(tmp_path)
    broker.start()
    page = phone.new_page()
    try:
        page.goto("/settings")
        page.click("#advanced > summary")
        page.click("#section-mqtt summary")
        state_line = page.locator("#mqtt-state")
        sync_api.expect(state_line).to_have_text("Now: Off")
        nobody = free_port()
        page.fill("#f-mqtt-host", "127.0.0.1")
        page.fill("#f-mqtt-port", str(nobody))
        page.click("#mqtt-test")
        result = page.locator("#mqtt-test-status")
        sync_api.expect(result).to_contain_text("Connection failed (refused)")
        page.fill("#f-mqtt-host", "broker.invalid")
        page.click("#mqtt-test")
        sync_api.expect(result).to_contain_text("Connection failed (dns)")
        page.fill("#f-mqtt-host", "127.0.0.1")
        page.fill("#f-mqtt-port", str(broker.port))
        page.click("#mqtt-test")
        sync_api.expect(result).to_have_text(f"Connected to 127.0.0.1:{broker.port}.")
        # Saving an unreachable broker does not just say "Saved".
        page.fill("#f-mqtt-port", str(nobody))
        page.check("#f-mqtt-enabled")
        page.click("#save")
        sync_api.expect(page.locator("#save-status")).to_contain_text(
            "Saved, but Home Assistant is not connected"
        )
        sync_api.expect(state_line).to_contain_text("Cannot reach the broker", timeout=15_000)
        result.scroll_into_view_if_needed()
        screenshot(page, "settings-mqtt-test")
        live = phone.new_page()
        live.goto("/")
        sync_api.expect(live.locator(".banner[data-kind=mqtt]")).to_contain_text(
            f"127.0.0.1:{nobody}", timeout=15_000
        )
        live.close()
        # The right port: connected, and the warning goes.
        page.fill("#f-mqtt-port", str(broker.port))
        page.click("#save")
        sync_api.expect(state_line).to_have_text(
            f"Now: Connected (127.0.0.1:{broker.port})", timeout=15_000
        )
    finally:
        api(page, "PATCH", "/api/settings", {"mqtt": {"enabled": False}})
        page.close()
        broker.kill()


def test_the_person_dialog_fits_and_says_what_it_takes(phone, clip) -> None:  # noqa: F811
    page = phone.new_page()
    page.set_viewport_size(PHONE)
    page.goto("/")
    playing(page, clip)
    page.click("#person-edit")
    page.click("#p-plan-add")
    page.click("#p-plan-add")
    # Save is on screen without scrolling, the plan's select shows its whole choice.
    save = page.locator("#p-save")
    box = save.bounding_box()
    assert box is not None and box["y"] + box["height"] <= PHONE["height"], box
    page.locator(".plan-step select").first.select_option("pushup")
    fits = page.eval_on_selector(".plan-step select", "(s) => s.scrollWidth <= s.clientWidth + 1")
    assert fits, "the exercise's name is cut in its select"
    # A rest under 10 s is refused at its field, as its help says; 0 turns the countdown off.
    page.fill("#p-rest", "5")
    page.click("#p-save")
    sync_api.expect(page.locator("#p-rest_s-error")).to_contain_text("10 to 600")
    sync_api.expect(page.locator("#p-rest-help")).to_contain_text("0: no countdown")
    page.click("#p-cancel")
    page.close()


@pytest.mark.parametrize("size", [SMALL, PHONE], ids=["360x640", "390x844"])
def test_small_screens_keep_the_stats_and_buttons_on_screen(browser, phone, daemon, clip, size):  # noqa: F811
    context = browser.new_context(
        viewport=size, base_url=daemon.base, storage_state=phone.storage_state()
    )
    page = context.new_page()
    page.goto("/")
    playing(page, clip)
    sync_api.expect(page.locator("#ctl-pause")).to_be_visible()
    name = f"live-{size['width']}x{size['height']}"
    screenshot(page, name)
    for element in ("#set-timer", "#sound", "#preview-toggle", "#ctl-pause"):
        box = page.locator(element).bounding_box()
        assert box and box["y"] + box["height"] <= size["height"], (element, box)
    # What the stats mean is on the page, not a guess.
    sync_api.expect(page.locator(".stats")).to_contain_text("Depth (100% = target)")
    page.goto("/placement")
    start = page.locator("#placement-done, a:has-text('Start counting')").first
    box = start.bounding_box()
    screenshot(page, f"placement-{size['width']}x{size['height']}")
    assert box and box["y"] + box["height"] <= size["height"], box
    context.close()


def test_the_login_page_says_what_to_do_about_a_forgotten_password(browser, daemon) -> None:  # noqa: F811
    context = browser.new_context(viewport=PHONE, base_url=daemon.base)
    page = context.new_page()
    page.goto("/login")
    sync_api.expect(page.locator("#forgot")).to_contain_text("repcounter password")
    assert re.search(r"restart", page.inner_text("#forgot"))
    context.close()
