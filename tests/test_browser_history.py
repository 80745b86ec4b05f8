"""History per person in a real browser (Debian's Chromium, headless, Playwright): the person
filter, editing a set (its count with a reason, delete, move to another person) with both counts
on the page and in the exports, and a new record celebrated on the live page at a real clip's
set end, then listed on History. Screenshots as in tests/test_browser.py."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

import pytest

from device.history.store import RepRecord, Store
from tests.test_browser import (  # noqa: F401 (browser: a fixture)
    AUDIO_STUBS_JS,
    CONTRAST_JS,
    PASSWORD,
    UNLABELLED_JS,
    Serve,
    browser,
    first_run,
    screenshot,
    sync_api,
)

CLIP = "darebee_squat.mp4"  # a steady side-view set of 8 squats (truth.tsv)


def add_set(store: Store, person: int, day: date, reps: int, exercise: str, hour: float) -> int:
    """A set of `reps` complete reps and one partial, at `hour` on `day` (deeper when longer)."""
    start = datetime.combine(day, clock_time(int(hour), int(hour % 1 * 60))).timestamp()
    set_id = None
    for i in range(reps + 1):
        t = start + 3 * i
        depth = 0.85 + 0.02 * reps if i < reps else 0.4
        rep = RepRecord(exercise, i < reps, t, t + 2.5, depth, 1.2, 1.0)
        _, set_id = store.add_rep(rep, set_id, 1800, person)
    return set_id


@pytest.fixture(scope="module")
def household(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Serve, dict]]:
    """A daemon (no camera) with a week of history for Me and Sam."""
    serve = Serve(tmp_path_factory.mktemp("household"))
    store = Store(serve.data_dir / "history.sqlite3")
    sam = store.add_person("Sam", "#2e7d32")["id"]
    today = date.today()
    ago = lambda days: today - timedelta(days=days)  # noqa: E731
    sets = {"old": add_set(store, 1, ago(8), 12, "squat", 9)}  # the best, until deleted
    for days, squats, pushups in ((4, 6, 10), (3, 7, 12), (2, 9, 11)):
        add_set(store, 1, ago(days), squats, "squat", 9)
        add_set(store, 1, ago(days), pushups, "pushup", 9.25)  # the same session
    add_set(store, sam, ago(2), 15, "squat", 9.5)
    sets["mine"] = add_set(store, 1, ago(1), 8, "squat", 9)
    sets["theirs"] = add_set(store, sam, ago(1), 5, "pushup", 10)
    sets["wrong"] = add_set(store, 1, ago(1), 4, "pushup", 11)
    add_set(store, 1, today, 7, "squat", 0)
    store.close()
    serve.start()
    yield serve, {"sam": sam, **sets}
    serve.stop()


def row_of(page, set_id: int):
    return page.locator(f'.session tr[data-set-id="{set_id}"]')


def test_edit_a_set_and_see_both_counts_on_the_page_and_in_the_exports(browser, household):  # noqa: F811
    serve, ids = household
    errors: list[str] = []
    context, page = first_run(browser, serve.base, errors)
    page.goto("/history")
    chips = page.locator("#people-filter .person-chip")
    sync_api.expect(chips).to_have_text(["Everyone", "Me", "Sam"])
    sync_api.expect(page.locator("#records .records-exercise")).to_have_count(2)

    # A wrong count: the reason is required, and the server's error shows by the form.
    row = row_of(page, ids["mine"])
    row.locator(".set-edit-open").click()
    editor = page.locator(".set-editor form")
    sync_api.expect(editor).to_contain_text("Counted by RepCounter: 8")
    editor.locator("input[name=reps]").fill("10")
    editor.locator("button[type=submit]").click()
    sync_api.expect(editor.locator(".form-error")).to_contain_text("say why")
    assert page.evaluate("document.activeElement.name") == "reason"
    # The message is on screen, right under the reason it is about (above Move and Delete).
    message = editor.locator(".form-error").bounding_box()
    reason = editor.locator("input[name=reason]").bounding_box()
    viewport = page.viewport_size["height"]
    assert message["y"] >= 0 and message["y"] + message["height"] <= viewport, message
    assert (
        reason["y"] < message["y"] < editor.locator("button", has_text="Delete").bounding_box()["y"]
    )
    editor.locator("input[name=reason]").fill("two reps hidden by the bench")
    editor.locator("button[type=submit]").scroll_into_view_if_needed()
    top = row.bounding_box()["y"]
    editor.locator("button[type=submit]").click()
    row = row_of(page, ids["mine"])
    sync_api.expect(row.locator("td").nth(0)).to_contain_text("10")
    sync_api.expect(row.locator("td .corrected")).to_have_text("counted 8")
    # "Saved", and the list did not jump: the row is where it was (within a line).
    sync_api.expect(page.locator(".set-saved")).to_have_text("Saved ✓ count 10")
    after = row.bounding_box()["y"]
    assert abs(after - top) <= 30 and after < page.viewport_size["height"], (top, after)

    # A set that was Sam's: moved to Sam. A warm-up: deleted, still listed, struck through.
    row_of(page, ids["wrong"]).locator(".set-edit-open").click()
    editor = page.locator(".set-editor form")
    editor.locator("select[name=person_id]").select_option(label="Sam")
    editor.locator("button", has_text="Move").click()
    sync_api.expect(row_of(page, ids["wrong"]).locator("th .sub")).to_contain_text("Sam")
    row_of(page, ids["old"]).locator(".set-edit-open").click()
    page.locator(".set-editor button", has_text="Delete the set").click()
    sync_api.expect(row_of(page, ids["old"])).to_have_class("deleted")
    sync_api.expect(row_of(page, ids["old"]).locator("td").nth(0)).to_contain_text("deleted")

    # The log of the edited set keeps the counted value and the reason.
    row_of(page, ids["mine"]).locator(".set-edit-open").click()
    sync_api.expect(page.locator(".set-editor .corrections li")).to_contain_text(
        ["count 8 → 10 (two reps hidden by the bench)"]
    )
    for scheme in ("light", "dark"):  # the editor open, a deleted and a corrected set shown
        page.emulate_media(color_scheme=scheme)
        page.wait_for_function(  # the page follows the phone's setting on its change event
            "(dark) => document.documentElement.classList.contains('dark') === dark",
            arg=scheme == "dark",
        )
        assert page.evaluate(UNLABELLED_JS) == [], "every control needs a label"
        assert page.evaluate(CONTRAST_JS) == [], f"text below WCAG AA contrast ({scheme})"
    page.emulate_media(color_scheme="light")
    page.locator(".set-editor").scroll_into_view_if_needed()
    page.evaluate("window.scrollBy(0, -120)")  # the edited row above its editor, under the bar
    screenshot(page, "history-edit", publish=True)

    # Only Me's sets under Me; the records use the corrected count and skip the deleted set.
    chips.filter(has_text="Me").click()
    sync_api.expect(chips.filter(has_text="Me")).to_have_attribute("aria-pressed", "true")
    assert page.url.endswith("?person=1")
    sync_api.expect(page.locator(f'.session tr[data-set-id="{ids["theirs"]}"]')).to_have_count(0)
    squat = page.locator(".records-exercise", has_text="Squats")
    sync_api.expect(squat.locator('[data-record="set_reps"] dd')).to_contain_text("10 reps")
    sync_api.expect(page.locator("#progress tbody")).to_contain_text("Squats")
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "history-progress", publish=True)
    screenshot(page, "history-person", full_page=True)

    for fmt in ("csv", "json"):
        with page.expect_download() as download:
            page.click(f"#export-{fmt}")
        assert download.value.suggested_filename == f"repcounter-history-person-1.{fmt}"
        text = Path(download.value.path()).read_text()
        if fmt == "csv":
            rows = [r for r in csv.DictReader(text.splitlines()) if r["set_id"] == str(ids["mine"])]
            assert {(r["counted_reps"], r["corrected_reps"]) for r in rows} == {("8", "10")}
            assert {r["person"] for r in csv.DictReader(text.splitlines())} == {"Me"}
        else:
            [edited] = [s for s in json.loads(text)["sets"] if s["id"] == ids["mine"]]
            assert (edited["counted_reps"], edited["corrected_reps"]) == (8, 10)
            assert edited["correction_reason"] == "two reps hidden by the bench"
    assert errors == []
    context.close()


def test_a_new_record_is_celebrated_live_and_listed_on_history(browser, shared_data, tmp_path):  # noqa: F811
    # The clip appears only once the live page listens (a camera plugged in later).
    source = tmp_path / CLIP
    settings = f'[camera]\nsource = {json.dumps(str(source))}\nfile_pace = "realtime"\n'
    (tmp_path / "data").mkdir()
    serve = Serve(tmp_path / "data", settings)
    store = Store(serve.data_dir / "history.sqlite3")
    add_set(store, 1, date.today() - timedelta(days=1), 3, "squat", 9)  # yesterday: 3 squats
    store.close()
    serve.start()
    errors: list[str] = []
    try:
        context, page = first_run(browser, serve.base, errors)
        page.add_init_script(AUDIO_STUBS_JS)
        page.goto("/")
        sync_api.expect(page.locator("#conn")).to_have_text("Live")
        page.mouse.click(10, 300)  # a tap anywhere lets the page speak
        source.symlink_to(shared_data / "clips" / CLIP)
        toast = page.locator(".record-toast").first
        sync_api.expect(toast).to_be_visible(timeout=90_000)
        sync_api.expect(page.locator(".record-toast")).to_contain_text(
            ["New record for Me: most squats in a set"]
        )
        # The toast leaves the top bar usable (it sits at the bottom).
        bar = page.locator(".topbar").bounding_box()
        assert toast.bounding_box()["y"] >= bar["y"] + bar["height"], "the toast covers the bar"
        page.click("#overlay-retry")  # "Show the count" past the video's end
        screenshot(page, "live-record", publish=True)
        kinds = page.eval_on_selector_all(
            ".record-toast", "(all) => all.map((t) => t.dataset.record)"
        )
        assert "set_reps" in kinds and "streak" in kinds, kinds  # 2 days in a row, yesterday 3
        spoken = page.evaluate("window.audioLog.spoken")
        assert any(s.startswith("New record for Me: most squats in a set") for s in spoken), spoken
        page.goto("/history")
        squat = page.locator(".records-exercise", has_text="Squats")
        sync_api.expect(squat.locator('[data-record="streak"] dd')).to_contain_text("2 days")
        best = int(squat.locator('[data-record="set_reps"] dd').inner_text().split(" reps")[0])
        assert best > 3
        sync_api.expect(page.locator("#streak")).to_contain_text("Streak: 2 days in a row")
        assert errors == []
        context.close()
    finally:
        serve.stop()
