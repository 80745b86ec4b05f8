"""Settings → Backup and restore in a real browser (Debian's Chromium, headless, Playwright):
the download is a backup file, a wrong file is refused with the reason and nothing changes, the
downloaded file restores. Against an in-process daemon with the stand-in model."""

from __future__ import annotations

import json
import zipfile

from tests.test_browser import browser, screenshot, set_password, sync_api  # noqa: F401
from tests.test_browser_welcome import appliance, generated_clip  # noqa: F401 (fixtures)


def test_download_a_backup_and_restore_it(browser, appliance, tmp_path):  # noqa: F811
    daemon, _ = appliance
    base = f"http://127.0.0.1:{daemon.port}"
    errors: list[str] = []
    context, page = set_password(browser, base, errors)
    daemon.store.add_person("Sam", "#43a047")
    page.goto("/settings#backup")
    sync_api.expect(page.locator("#backup-nightly")).to_contain_text("keeps the last 7")

    with page.expect_download() as download:
        page.click("#backup-download")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name.startswith("repcounter-backup-") and saved.suffix == ".zip"
    with zipfile.ZipFile(saved) as archive:
        assert json.loads(archive.read("manifest.json"))["format"] == "repcounter-backup"

    daemon.store.add_person("Kim", "#8e24aa")  # after the backup: the restore takes it away
    holiday = {"name": "holiday.jpg", "mimeType": "image/jpeg", "buffer": b"\xff\xd8 photo"}
    page.set_input_files("#restore-file", files=[holiday])
    page.click("#restore-submit")
    status = page.locator("#restore-status")
    sync_api.expect(status).to_contain_text("Nothing was changed")
    sync_api.expect(status).to_contain_text("not a complete RepCounter backup")
    assert sorted(p["name"] for p in daemon.store.people()) == ["Kim", "Me", "Sam"]
    page.locator("#backup").scroll_into_view_if_needed()
    screenshot(page, "settings-backup-refused", publish=True)

    page.set_input_files("#restore-file", str(saved))
    page.click("#restore-submit")
    sync_api.expect(status).to_contain_text("Restored the backup made")
    assert sorted(p["name"] for p in daemon.store.people()) == ["Me", "Sam"]
    assert errors == []
    context.close()
