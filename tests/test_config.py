"""Settings: defaults, field-level errors, round trip through the TOML file, atomic save."""

from __future__ import annotations

import os
import tomllib

import pytest

from device.daemon import config
from device.errors import ConfigError


def test_defaults_round_trip_through_the_file(tmp_path):
    path = tmp_path / "settings.toml"
    config.save(config.Settings(), path)
    assert config.load(path) == config.Settings()
    text = path.read_text()
    assert "# Seconds without a rep after which a set ends." in text  # documented in place
    assert tomllib.loads(text)["workout"]["set_idle_s"] == 20.0


def test_missing_file_gives_defaults(tmp_path):
    assert config.load(tmp_path / "none.toml") == config.Settings()


def test_every_bad_field_is_named():
    with pytest.raises(config.SettingsInvalid) as caught:
        config.validate(
            {
                "camera": {"width": "wide", "colour": "red"},
                "model": {"accelerator": "gpu"},
                "exercise": {"min_pose_score": 3},
                "server": {"host": "my pi", "allowed_hosts": ["ok.example", "bad host!"]},
            }
        )
    fields = {e["field"] for e in caught.value.fields}
    assert fields == {
        "camera.width",
        "camera.colour",
        "model.accelerator",
        "exercise.min_pose_score",
        "server.host",
        "server.allowed_hosts",
    }
    assert "unknown setting" in str(caught.value)


def test_non_object_is_rejected():
    with pytest.raises(config.SettingsInvalid) as caught:
        config.validate(["camera"])
    assert caught.value.fields[0]["field"] == "(body)"


def test_merge_applies_a_partial_change():
    base = config.Settings().model_dump(mode="json")
    merged = config.merge(base, {"workout": {"set_idle_s": 45}})
    settings = config.validate(merged)
    assert settings.workout.set_idle_s == 45
    assert settings.workout.mode == "auto"
    assert config.changed_sections(config.Settings(), settings) == {"workout"}


def test_bad_file_is_a_clear_error(tmp_path):
    path = tmp_path / "settings.toml"
    path.write_text("[camera\nwidth = 3")
    with pytest.raises(ConfigError, match="not valid TOML"):
        config.load(path)
    path.write_text("[camera]\nwidth = 3\n")
    with pytest.raises(ConfigError, match=r"camera\.width"):
        config.load(path)


def test_failed_save_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "settings.toml"
    config.save(config.Settings(), path)
    before = path.read_bytes()

    def broken_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    changed = config.Settings(workout={"set_idle_s": 99})
    with pytest.raises(OSError):
        config.save(changed, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["settings.toml"]  # no temporary left


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (b"[camera]\nfps = 500\n", "camera.fps"),
        (b"[camera\nwidth = 3", "not valid TOML"),
        (b"[camera]\nsource = '\xff\xfe'\n", "not UTF-8"),
        (b"[exercise]\nmin_rep_s = 30\nmax_rep_s = 1\n", "exercise.min_rep_s"),
    ],
)
def test_unusable_file_is_set_aside_and_defaults_serve(tmp_path, content, named):
    path = tmp_path / "settings.toml"
    path.write_bytes(content)
    settings, safe = config.load_or_safe_mode(path)
    assert settings == config.Settings() and named in safe.error
    assert not path.exists() and safe.moved_to.read_bytes() == content  # nothing is lost
    assert safe.moved_to.name.startswith("settings.toml.broken-")
    settings, again = config.load_or_safe_mode(path)  # a restart stays in safe mode
    assert again.moved_to == safe.moved_to and named in again.error
    config.save(config.Settings(), path)  # saving settings ends it
    assert config.load_or_safe_mode(path)[1] is None


def test_salvage_keeps_the_valid_fields():
    data = {
        "camera": {"fps": 500, "width": 800},
        "exercise": {"min_rep_s": 30, "max_rep_s": 1, "start_drop": 0.1},
        "server": "nonsense",
    }
    settings, dropped = config.salvage(data)
    assert settings.camera.width == 800 and settings.exercise.start_drop == 0.1
    assert settings.camera.fps == 30 and settings.exercise.max_rep_s == 1
    assert settings.exercise.min_rep_s == config.Settings().exercise.min_rep_s
    assert {d["field"] for d in dropped} == {"camera.fps", "exercise.min_rep_s", "server"}


def test_reference_lists_every_field():
    rows = config.describe()
    fields = {row["field"] for row in rows}
    assert {
        "camera.source",
        "workout.set_idle_s",
        "server.port",
        "exercise.min_pose_score",
    } <= fields
    assert all(row["description"] for row in rows)
