"""Settings: defaults, field-level errors, round trip through the TOML file, atomic save."""

from __future__ import annotations

import os
import tomllib

import pytest

from device.cli import main
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


def test_serve_refuses_a_bad_settings_file_naming_the_field(tmp_path, capsys):
    (tmp_path / "settings.toml").write_text("[camera]\nfps = 500\n")
    assert main(["serve", "--data-dir", str(tmp_path), "--port", "0"]) == 2
    assert "camera.fps" in capsys.readouterr().err


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
