"""Training on the live page in a real browser (Debian's Chromium, headless, Playwright) against
`repcounter serve` playing a real clip: the "Who's training?" picker and its dialog, a target
reached ("3 to go", "done" on screen and by voice, then the rest countdown), and a plan walked
set by set. Screenshots as in tests/test_browser.py (UPDATE_SCREENSHOTS=1 publishes them).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_browser import (  # noqa: F401 (fixtures)
    AUDIO_STUBS_JS,
    CLIP,
    CONTRAST_JS,
    PASSWORD,
    PHONE,
    UNLABELLED_JS,
    Serve,
    browser,
    clip,
    daemon,
    new_phone,
    past_placement,
    screenshot,
    sync_api,
)

# A JSON API call from the page, with its CSRF token: [status, answer].
API_JS = """async ([method, path, body]) => {
  const token = document.querySelector('meta[name="csrf-token"]').content;
  const response = await fetch(path, {
    method, headers: { "Content-Type": "application/json", "X-CSRF-Token": token },
    body: body === null ? undefined : JSON.stringify(body),
  });
  return [response.status, await response.json()];
}"""

# Records every change of the count box and the cue banner, so short-lived screens are not
# missed between polls: [{title, count, label, goal, resting, cue}].
WATCH_JS = """() => {
  window.seen = [];
  const text = (id) => document.getElementById(id).textContent;
  const record = () => {
    const now = {
      title: text("exercise"), count: text("rep-count"), label: text("rep-count-label"),
      goal: text("goal"),
      resting: document.getElementById("rep-count-box").classList.contains("resting"),
      cue: document.getElementById("cue-banner").hidden ? "" : text("cue-banner"),
    };
    const last = window.seen.at(-1);
    if (!last || JSON.stringify(last) !== JSON.stringify(now)) window.seen.push(now);
  };
  for (const id of ["rep-count-box", "cue-banner"]) {
    new MutationObserver(record).observe(document.getElementById(id),
      { attributes: true, childList: true, characterData: true, subtree: true });
  }
  record();
}"""


# After AUDIO_STUBS_JS: also records each beep's pitch in window.audioLog.tones.
TONES_JS = """
const createOscillator = window.AudioContext.prototype.createOscillator;
window.AudioContext.prototype.createOscillator = function () {
  const node = createOscillator.call(this);
  window.audioLog.tones ??= [];
  Object.defineProperty(node.frequency, "value", { set(v) { window.audioLog.tones.push(v); } });
  return node;
};
"""


def colour_distance(a: str, b: str) -> float:
    """RGB distance of two "#rrggbb" colours (#2e86de to #1e88e5: 17; orange to blue: 250)."""
    rgb = lambda c: [int(c[i : i + 2], 16) for i in (1, 3, 5)]  # noqa: E731
    return sum((x - y) ** 2 for x, y in zip(rgb(a), rgb(b), strict=True)) ** 0.5


def api(page, method: str, path: str, body: object = None) -> dict:
    status, answer = page.evaluate(API_JS, [method, path, body])
    assert status < 300, (method, path, status, answer)
    return answer


@pytest.fixture(scope="module")
def phone(browser, daemon: Serve) -> Iterator:  # noqa: F811
    """A logged-in phone (first-run setup done on the page, the placement step skipped)."""
    yield from past_placement(browser, daemon.base)


def play(page, path: Path) -> None:
    """Point the camera at a clip at its real pace (a new path restarts it from the start)."""
    api(page, "PATCH", "/api/settings", {"camera": {"source": str(path), "file_pace": "realtime"}})


def show_count(page) -> None:
    """No camera yet: its full-screen warning comes with the first health event; close it."""
    sync_api.expect(page.locator("#overlay[data-kind=camera-missing]")).to_be_visible()
    page.click("#overlay-retry")
    sync_api.expect(page.locator("#overlay")).to_be_hidden()


def wait_for(page, condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        page.wait_for_timeout(200)
    pytest.fail(f"{what} within {seconds:.0f} s; seen: {page.evaluate('window.seen ?? null')}")


def test_people_picker_adds_switches_and_remembers(phone, browser, daemon) -> None:  # noqa: F811
    page = phone.new_page()
    page.goto("/")
    sync_api.expect(page.locator("#conn")).to_have_text("Live")
    show_count(page)
    chips = page.locator(".person-chip")
    sync_api.expect(chips).to_have_text(["Me"])
    sync_api.expect(chips.first).to_have_attribute("aria-pressed", "true")

    # "+ Add": name, colour, rest, a target. The colour offered is far from Me's blue.
    page.click("#person-add")
    dialog = page.locator("#person-dialog")
    sync_api.expect(dialog).to_be_visible()
    page.fill("#p-name", "Ana")
    assert colour_distance(page.input_value("#p-colour"), "#1e88e5") >= 140
    page.fill("#p-colour", "#e67e22")
    page.fill("#p-rest", "60")
    page.fill("#p-target-squat", "5")
    assert page.evaluate(UNLABELLED_JS) == [], "every control in the dialog needs a label"
    assert page.evaluate(CONTRAST_JS) == [], "text below WCAG AA contrast in the dialog"
    screenshot(page, "live-person-dialog", publish=True)
    page.click("#p-save")
    sync_api.expect(dialog).to_be_hidden()
    sync_api.expect(chips).to_have_text(["Ana", "Me"])
    # Adding someone does not switch who trains: Me still does, until Ana's chip is tapped.
    sync_api.expect(page.locator(".person-chip", has_text="Me")).to_have_attribute(
        "aria-pressed", "true"
    )
    assert api(page, "GET", "/api/state")["person"]["name"] == "Me"
    sync_api.expect(page.locator("#count-person")).to_have_text("Me")
    ana = page.locator(".person-chip", has_text="Ana")
    ana.click()
    sync_api.expect(ana).to_have_attribute("aria-pressed", "true")
    sync_api.expect(page.locator("#count-person")).to_have_text("Ana")
    person = api(page, "GET", "/api/state")["person"]
    assert (person["name"], person["colour"], person["rest_s"], person["targets"]) == (
        "Ana", "#e67e22", 60, {"squat": 5})  # fmt: skip
    sync_api.expect(page.locator("#goal")).to_have_text("")  # no exercise yet: no target shown

    # A name taken (whatever the case) is refused at the field; nothing is added.
    page.click("#person-add")
    page.fill("#p-name", "ana")
    page.click("#p-save")
    sync_api.expect(page.locator("#p-name-error")).to_contain_text("name")
    assert page.get_attribute("#p-name", "aria-invalid") == "true"
    page.fill("#p-name", "Ben")
    offered = page.input_value("#p-colour")
    assert min(colour_distance(offered, c) for c in ("#1e88e5", "#e67e22")) >= 140, offered
    page.click("#p-save")
    sync_api.expect(chips).to_have_text(["Ana", "Ben", "Me"])

    # One tap switches; the device remembers it for every phone, also after a reload.
    ana.click()
    sync_api.expect(ana).to_have_attribute("aria-pressed", "true")
    assert api(page, "GET", "/api/people")["active"] == person["id"]
    # A second phone (its own browser context: one phone's tabs share six connections).
    second = browser.new_context(
        viewport=PHONE, base_url=daemon.base, storage_state=phone.storage_state()
    )
    other = second.new_page()
    other.goto("/")
    sync_api.expect(other.locator(".person-chip[aria-pressed=true]")).to_have_text("Ana")
    page.locator(".person-chip", has_text="Ben").click()
    sync_api.expect(other.locator(".person-chip[aria-pressed=true]")).to_have_text("Ben")
    second.close()
    page.reload()
    show_count(page)
    sync_api.expect(page.locator(".person-chip[aria-pressed=true]")).to_have_text("Ben")
    ana = page.locator(".person-chip", has_text="Ana")
    ana.click()
    sync_api.expect(ana).to_have_attribute("aria-pressed", "true")

    # Edit opens the active person with their values.
    page.click("#person-edit")
    sync_api.expect(page.locator("#person-dialog-title")).to_have_text("Edit Ana")
    sync_api.expect(page.locator("#p-target-squat")).to_have_value("5")
    sync_api.expect(page.locator("#p-rest")).to_have_value("60")
    page.click("#p-cancel")
    screenshot(page, "live-people", publish=True)
    page.close()


def test_target_reached_says_done_and_counts_the_rest_down(phone, clip) -> None:  # noqa: F811
    """Ana (target 5 squats, rest 60 s) and the clip of 8 squats."""
    page = phone.new_page()
    page.add_init_script(AUDIO_STUBS_JS)
    page.goto("/")
    sync_api.expect(page.locator(".person-chip[aria-pressed=true]")).to_have_text("Ana")
    show_count(page)  # a tap: it allows sound too
    sync_api.expect(page.locator("#tap-prompt")).to_be_hidden()
    page.evaluate(WATCH_JS)
    play(page, clip[0])
    seen = lambda: page.evaluate("window.seen")  # noqa: E731
    sync_api.expect(page.locator("#goal")).to_have_text(re.compile("^3 to go"), timeout=60_000)
    screenshot(page, "live-target", publish=True)  # mid-set: the target and what is left
    wait_for(page, lambda: any(s["resting"] for s in seen()), 60, "no rest after the target")
    wait_for(
        page,
        lambda: page.locator("#health-camera").inner_text() == "Camera ended",
        60,
        "the clip did not end",
    )
    states = seen()
    first_rest = next(i for i, s in enumerate(states) if s["resting"])
    before = [s for s in states[:first_rest] if s["count"].isdigit()]
    assert before[-1]["count"] == "5", "the rest starts at rep 5"
    assert any(s["goal"] == "3 to go · target 5" for s in before), "the target and to-go"
    assert any(s["goal"] == "Done ✓" for s in before) or any(
        "Done" in s["cue"] for s in states[first_rest:]
    )
    assert any(s["cue"].startswith("Done") and "5 squats" in s["cue"] for s in states)
    rest = states[first_rest]
    assert rest["title"] == "Rest" and re.fullmatch(r"[01]:\d\d", rest["count"]), rest
    assert rest["label"] == "Last set: 5 of 5 · done ✓"
    # Rep 6 ends the rest: the next set starts by itself, with the same target.
    after = [s for s in states[first_rest:] if not s["resting"] and s["count"] == "1"]
    assert after and after[0]["goal"] == "4 to go · target 5", states[first_rest:]
    spoken = page.evaluate("window.audioLog.spoken")
    assert "3 to go" in spoken and "Done, 5 squats" in spoken, spoken
    assert spoken.index("two") < spoken.index("3 to go"), "said after the count, not instead"

    # The clip ended: its second set ended with it, and the rest counts down on screen.
    box = page.locator("#rep-count-box")
    sync_api.expect(box).to_have_class(re.compile(r"\bresting\b"))
    first = page.locator("#rep-count").inner_text()
    page.wait_for_timeout(2200)
    second = page.locator("#rep-count").inner_text()
    to_s = lambda text: int(text.split(":")[0]) * 60 + int(text.split(":")[1])  # noqa: E731
    assert 1 <= to_s(first) - to_s(second) <= 3, (first, second)
    page.click("#overlay-retry")  # "the video has ended": show the count
    assert page.evaluate(CONTRAST_JS) == [], "the rest screen keeps its contrast"
    screenshot(page, "live-rest", publish=True)
    page.close()


def test_plan_is_walked_set_by_set(phone, clip, tmp_path) -> None:  # noqa: F811
    """Ana's plan: 2 sets of 4 squats, then 1 set of 8 push-ups; the clip has 8 squats."""
    page = phone.new_page()
    page.goto("/")
    page.click("#overlay-retry")  # the last test's video has ended: show the count
    # The plan, entered in the dialog: a step of 2 x 4 squats, then a step of 1 x 8 push-ups.
    page.click("#person-edit")
    page.click("#p-plan-add")
    page.click("#p-plan-add")
    steps = page.locator(".plan-step")
    sync_api.expect(steps).to_have_count(2)
    for step, (exercise, sets, reps) in zip(
        steps.all(), [("squat", 2, 4), ("pushup", 1, 8)], strict=True
    ):
        step.locator("select").select_option(exercise)
        step.locator("[data-part=sets]").fill(str(sets))
        step.locator("[data-part=reps]").fill(str(reps))
    page.locator("#p-plan-add").scroll_into_view_if_needed()
    assert page.evaluate(UNLABELLED_JS) == [], "every plan field needs a label"
    screenshot(page, "live-plan-dialog")
    page.click("#p-save")
    sync_api.expect(page.locator("#person-dialog")).to_be_hidden()
    person = api(page, "GET", "/api/state")["person"]
    assert person["plan"] == [
        {"exercise": "squat", "sets": 2, "reps": 4},
        {"exercise": "pushup", "sets": 1, "reps": 8},
    ]
    assert person["targets"] == {"squat": 5}, "the targets stay as they were"
    goal = page.locator("#goal")  # still resting after the last test's set: what comes next
    sync_api.expect(goal).to_have_text("Next: Squats, set 1 of 2, 4 reps")
    page.evaluate(WATCH_JS)
    again = tmp_path / CLIP  # another path to the same clip: it plays from the start
    os.symlink(clip[0], again)
    play(page, again)
    seen = lambda: page.evaluate("window.seen")  # noqa: E731
    wait_for(
        page,
        lambda: any("Push-ups" in s["goal"] for s in seen()),
        90,
        "the plan did not reach push-ups",
    )
    states = seen()
    titles = [s["title"] for s in states]
    assert "Squats · set 1 of 2" in titles and "Squats · set 2 of 2" in titles
    assert titles.index("Squats · set 1 of 2") < titles.index("Squats · set 2 of 2")
    set_1 = titles.index("Squats · set 1 of 2")
    between = [s for s in states[set_1:] if s["resting"] and s["goal"].startswith("Next: Squats")]
    assert between and between[0]["goal"] == "Next: Squats, set 2 of 2, 4 reps", states
    end = page.locator("#rep-count-box")
    sync_api.expect(end).to_have_class(re.compile(r"\bresting\b"))
    sync_api.expect(goal).to_have_text("Next: Push-ups, set 1 of 1, 8 reps")
    training = api(page, "GET", "/api/state")["training"]
    assert training["plan"]["step"] == 1 and training["plan"]["exercise"] == "pushup"
    sync_api.expect(page.locator("#health-camera")).to_have_text("Camera ended")
    page.wait_for_timeout(1500)  # a health event later: the end's warning stays dismissed
    assert page.locator("#overlay").is_hidden()
    screenshot(page, "live-plan", publish=True)
    page.close()


def test_a_set_without_a_target_rests_under_its_count_and_beeps_near_the_end(
    phone,
    clip,  # noqa: F811
    tmp_path,
) -> None:
    """Ben has no target, no plan and a rest of 12 s: after the clip the count box still shows
    the set, the rest counts down under it, "get ready" beeps 10 s before its end."""
    page = phone.new_page()
    page.add_init_script(AUDIO_STUBS_JS)
    page.add_init_script(TONES_JS)
    page.goto("/")
    page.click("#overlay-retry")  # the last test's video has ended: show the count (a tap)
    ben = page.locator(".person-chip", has_text="Ben")
    ben.click()
    sync_api.expect(ben).to_have_attribute("aria-pressed", "true")
    ben_id = int(ben.get_attribute("data-id"))
    api(page, "PATCH", f"/api/people/{ben_id}", {"rest_s": 12})
    once_more = tmp_path / CLIP
    os.symlink(clip[0], once_more)
    api(page, "PATCH", "/api/settings", {"camera": {"source": str(once_more), "file_pace": "fast"}})
    goal = page.locator("#goal")
    sync_api.expect(goal).to_have_text(re.compile(r"^Rest 0:\d\d$"), timeout=60_000)
    low, high = clip[1], clip[2]
    assert low <= int(page.locator("#rep-count").inner_text()) <= high
    box = page.locator("#rep-count-box")
    sync_api.expect(box).not_to_have_class(re.compile(r"\bresting\b"))
    sync_api.expect(box).to_have_class(re.compile(r"\bended\b"))
    sync_api.expect(goal).to_have_text("", timeout=20_000)  # the rest is over
    spoken = page.evaluate("window.audioLog.spoken")
    ready = [text for text in spoken if text.startswith("Get ready")]
    assert len(ready) == 1 and re.fullmatch(r"Get ready, (9|10|11) seconds", ready[0]), spoken
    assert spoken[-1] == "Rest over, start when ready", spoken
    tones = page.evaluate("window.audioLog.tones")
    assert tones.count(880) >= low, "a beep per rep"
    assert tones[-2:] == [660, 990], "a beep at 10 s before the end, a longer one at the end"
    page.close()


def test_removing_who_trains_lets_the_first_person_train_first(phone) -> None:
    """Issue 19: the server refuses to delete the person training (409, field "person"); the
    dialog's Remove then asks, lets Me train and removes them. (Clicks are dispatched: a
    camera warning may cover the page, and the dialog is above it.)"""
    page = phone.new_page()
    page.goto("/")
    sync_api.expect(page.locator("#conn")).to_have_text("Live")
    zed = api(page, "POST", "/api/people", {"name": "Zed", "colour": "#123456"})
    api(page, "PUT", "/api/person", {"person_id": zed["id"]})
    sync_api.expect(page.locator(".person-chip[aria-pressed=true]")).to_have_text("Zed")
    questions: list[str] = []
    page.on("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    page.dispatch_event("#person-edit", "click")
    sync_api.expect(page.locator("#person-dialog-title")).to_have_text("Edit Zed")
    page.dispatch_event("#p-delete", "click")
    sync_api.expect(page.locator("#person-dialog")).to_be_hidden()
    sync_api.expect(page.locator(".person-chip[aria-pressed=true]")).to_have_text("Me")
    assert "Zed" not in [p["name"] for p in api(page, "GET", "/api/people")["people"]]
    assert questions == [
        "Remove Zed?", "Zed is training now: Me trains instead, and Zed is removed."
    ]  # fmt: skip
    page.close()
