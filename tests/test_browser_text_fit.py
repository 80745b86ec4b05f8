"""Every cue, hint, placement advice, training message and set summary the engine can give, shown
on the live page (and the placement page's advice) in a real browser at 360 x 640, 390 x 844 and
844 x 390: none may overflow its box or be clipped. Texts come from the engine's own tables;
the training messages with their longest numbers. The daemon has no camera, which also shows
that neither page then gives advice about a person.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from device.daemon.training import GET_READY_S, TO_GO, exercise_name
from device.exercise.coaching import set_summary
from device.exercise.cues import EXERCISE_CUES, HINTS, MESSAGES
from tests.test_browser import (  # noqa: F401 (fixtures)
    Serve,
    browser,
    first_run,
    screenshot,
    sync_api,
)

VIEWPORTS = [(360, 640), (390, 844), (844, 390)]
MAX_TARGET = 500  # the largest target reps per set (people's targets: 1-500)


def training_messages() -> list[str]:
    """device/daemon/training.py's cues, with the longest values they can carry."""
    longest = max(("squat", "pushup"), key=lambda e: len(exercise_name(e)))
    return [
        f"{TO_GO} to go",
        f"Done: {MAX_TARGET} {exercise_name(longest)}",
        "Rest over: start when ready",
        f"Get ready: {round(GET_READY_S)} seconds",
        "Plan done: well done",
    ]


def summaries() -> list[str]:
    """The longest set summaries: every fault of the exercise on scattered reps of a long set."""
    out = []
    for exercise, codes in EXERCISE_CUES.items():
        reps = [list(codes) if n % 2 else [] for n in range(1, 30)]
        out.append("Last set: " + " · ".join(set_summary(exercise, reps)))
    return out


# Puts a message in the cue box as the page's showCue does ("Head: detail"; a form cue's rep
# number above), or in another text element, and lists what does not fit: an element whose
# content is wider or taller than it, or that reaches outside its box or the window.
FIT_JS = """([target, text, rep]) => {
  const $ = (id) => document.getElementById(id);
  let box;
  if (target === "cue") {
    const [head, ...rest] = text.split(": ");
    $("cue-head").textContent = head;
    $("cue-detail").textContent = rest.join(": ");
    $("cue-rep").textContent = rep ? `Rep ${rep}` : "";
    $("cue-rep").hidden = !rep;
    box = $("cue-banner");
    box.hidden = false;
  } else {
    box = $(target);
    box.hidden = false;
    box.textContent = text;
  }
  const problems = [];
  const outer = box.getBoundingClientRect();
  if (outer.left < -1 || outer.right > innerWidth + 1) problems.push(`box outside the window`);
  for (const el of [box, ...box.querySelectorAll("*")]) {
    if (el.hidden) continue;
    const r = el.getBoundingClientRect();
    const name = el.id || el.className;
    if (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1) {
      problems.push(`${name} overflows (${el.scrollWidth}x${el.scrollHeight} in ` +
        `${el.clientWidth}x${el.clientHeight})`);
    }
    const out = r.left < outer.left - 1 || r.right > outer.right + 1 ||
      r.top < outer.top - 1 || r.bottom > outer.bottom + 1;
    if (el !== box && out) problems.push(`${name} clipped by its box`);
  }
  return problems;
}"""


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    serve = Serve(tmp_path_factory.mktemp("text-fit"))
    serve.start()
    yield serve
    serve.stop()


@pytest.fixture(scope="module")
def page(browser, daemon: Serve) -> Iterator:  # noqa: F811
    errors: list[str] = []
    context, page = first_run(browser, daemon.base, errors)
    yield page
    context.close()
    assert errors == [], "script errors"


def test_every_message_fits_at_phone_sizes(page, daemon: Serve) -> None:
    cues = [MESSAGES[c] for codes in EXERCISE_CUES.values() for c in codes]
    placement = [
        m for code, m in MESSAGES.items() if code not in set().union(*EXERCISE_CUES.values())
    ]
    checks = [("cue", m, 12) for m in cues]
    checks += [("cue", m, None) for m in placement + training_messages()]
    checks += [("view-hint", m, None) for m in HINTS.values()]
    checks += [("cue-idle", m, None) for m in summaries()]
    page.goto("/")
    sync_api.expect(page.locator("#overlay[data-kind=camera-missing]")).to_be_visible()
    page.click("#overlay-retry")
    failures = []
    for width, height in VIEWPORTS:
        page.set_viewport_size({"width": width, "height": height})
        for target, text, rep in checks:
            for problem in page.evaluate(FIT_JS, [target, text, rep]):
                failures.append(f"{width}x{height} {target} {text!r}: {problem}")
        page.evaluate(FIT_JS, ["cue", MESSAGES["go_deeper"], 12])
        screenshot(page, f"text-fit-live-{width}x{height}")
    # The placement page's advice: the same placement messages and hints, and its own lines.
    page.goto("/placement")
    for width, height in VIEWPORTS:
        page.set_viewport_size({"width": width, "height": height})
        for text in placement + list(HINTS.values()):
            for problem in page.evaluate(FIT_JS, ["advice", text, None]):
                failures.append(f"{width}x{height} placement {text!r}: {problem}")
    assert failures == [], "\n".join(failures)


def test_no_advice_about_the_person_without_a_camera(page, daemon: Serve) -> None:
    """This daemon has no camera: the placement page says what is wrong with the camera, and
    neither page gives advice about a person it cannot see."""
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/placement")
    advice = page.locator("#advice")
    sync_api.expect(advice).to_contain_text("camera", ignore_case=True)
    assert "step" not in advice.inner_text().lower(), advice.inner_text()
    for check in ("#check-person", "#check-body", "#check-side"):
        sync_api.expect(page.locator(check)).to_have_attribute("data-ok", "false")
    page.goto("/")
    sync_api.expect(page.locator("#overlay[data-kind=camera-missing]")).to_be_visible()
    page.click("#overlay-retry")
    page.wait_for_timeout(2500)  # a few health and state events
    assert page.locator("#cue-banner").is_hidden() and page.locator("#view-hint").is_hidden()
