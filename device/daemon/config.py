"""Typed settings: defaults, field-level errors, and one human-readable TOML file saved atomically.

Every field carries its documentation (`description`), which is written as a comment above the
field in the settings file and listed in docs/daemon.md. The file is read with the standard
library's tomllib and written with tomli-w; it is replaced in one step (temporary file, fsync,
rename) so a power cut leaves either the old or the new settings, never half of each.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tempfile
import textwrap
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import tomli_w
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from device.errors import ConfigError
from device.exercise.rules import ExerciseRules, require_below

HOSTNAME_RE = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)


class _Section(BaseModel):
    # strict: "640" or true is not a width; values come typed from TOML and JSON.
    model_config = ConfigDict(extra="forbid", validate_assignment=True, strict=True)


class CameraSettings(_Section):
    """Where frames come from. A change restarts the pipeline (not the web server)."""

    source: str = Field(
        "auto",
        min_length=1,
        max_length=1000,
        description="auto (the Pi camera, else the first USB webcam), picamera, a webcam number "
        "(0, 1, ...) or /dev/videoN, an rtsp:// or http:// stream URL, or a video file path.",
    )
    width: int = Field(640, ge=160, le=1920, description="Width of the frames the model sees.")
    height: int = Field(480, ge=120, le=1080, description="Height of the frames the model sees.")
    fps: int = Field(30, ge=1, le=60, description="Frames per second asked of the camera.")
    preview_width: int = Field(
        320,
        ge=128,
        le=1280,
        multiple_of=64,
        description="Width of the phone preview stream (a multiple of 64 for the Pi camera).",
    )
    preview_height: int = Field(240, ge=96, le=720, description="Height of the phone preview.")
    file_pace: Literal["realtime", "fast"] = Field(
        "realtime",
        description="Video files only: realtime plays at the file's frame rate, fast processes "
        "every frame as fast as the model allows.",
    )
    file_loop: bool = Field(False, description="Video files only: start again at the end.")

    @model_validator(mode="after")
    def _preview_fits(self) -> CameraSettings:
        pairs = (("preview_width", "width"), ("preview_height", "height"))
        require_below(self, pairs, or_equal=True)  # the Pi camera's lores stream must fit
        return self

    @field_validator("source")
    @classmethod
    def _printable(cls, value: str) -> str:
        if not value.isprintable() or value != value.strip():
            raise ValueError("must be printable text without surrounding spaces")
        return value


class ModelSettings(_Section):
    """The pose model. A change restarts the pipeline (not the web server)."""

    name: Literal["lightning", "thunder"] = Field(
        "lightning", description="MoveNet Lightning (fast) or Thunder (more accurate, slower)."
    )
    accelerator: Literal["auto", "cpu", "edgetpu"] = Field(
        "auto",
        description="auto uses the Coral Edge TPU when its probe passes (it runs in a child "
        "process, so a broken libedgetpu cannot crash the appliance), else the CPU; edgetpu "
        "insists on it (the pipeline stops with the reason otherwise).",
    )
    precision: Literal["auto", "int8", "float16"] = Field(
        "auto",
        description="Which CPU build runs: auto takes the official int8 build when present "
        "(about twice as fast on a Pi, and as accurate), else float16. The Edge TPU runs int8 "
        "only, so float16 keeps the pose on the CPU.",
    )
    edgetpu_library: str = Field(
        "libedgetpu.so.1",
        min_length=1,
        max_length=1000,
        description="The Edge TPU runtime: a library name the loader finds, or its full path.",
    )
    threads: int = Field(2, ge=1, le=8, description="CPU threads for the model.")


class WorkoutSettings(_Section):
    """How reps group into sets and sessions. Applies live."""

    mode: Literal["auto", "squat", "pushup"] = Field(
        "auto", description="Which exercise to count: auto detects squats and push-ups."
    )
    set_idle_s: float = Field(
        20.0, ge=3, le=600, description="Seconds without a rep after which a set ends."
    )
    session_gap_s: float = Field(
        1800.0,
        ge=60,
        le=86400,
        description="Seconds between sets after which a new session (workout) starts.",
    )

    @model_validator(mode="after")
    def _ordered(self) -> WorkoutSettings:
        require_below(self, (("set_idle_s", "session_gap_s"),))  # else every set is a session
        return self


class StorageSettings(_Section):
    """The data folder (history, login, settings). Applies live."""

    warn_free_mb: int = Field(
        100,
        ge=0,
        le=100_000,
        description="Health warns when the data folder's disk has less free space than this "
        "(megabytes, 0: never).",
    )


class ServerSettings(_Section):
    """The web server. A change takes effect when the service restarts."""

    host: str = Field(
        "0.0.0.0",
        description="Address to listen on: 0.0.0.0 (every network), :: (every network, IPv6 "
        "too), 127.0.0.1 (this machine only: it can be chosen only on the machine itself, since "
        "no phone could reach RepCounter after the restart) or an address of one of its network "
        "interfaces. A change is saved only if the daemon can listen there.",
    )
    port: int = Field(
        8080,
        ge=1024,
        le=65535,
        description="TCP port of the web UI and API (1024-65535: the service may not use the "
        "privileged ports). A change is saved only if the port is free.",
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        max_length=32,
        description="Extra host names the phone may use in the address bar, besides IP "
        "addresses, localhost, this machine's hostname and hostname.local (DNS rebinding guard).",
    )
    threads: int = Field(
        24,
        ge=4,
        le=128,
        description="Server threads; each live-update or preview client holds one.",
    )
    preview_fps: float = Field(10.0, ge=1, le=30, description="Frame rate of the MJPEG preview.")
    preview_quality: int = Field(70, ge=20, le=95, description="JPEG quality of the preview.")
    login_days: int = Field(
        30,
        ge=1,
        le=365,
        description="Days a phone stays logged in without using RepCounter; each visit starts "
        "the count again, up to server.login_max_days.",
    )
    login_max_days: int = Field(
        90,
        ge=1,
        le=365,
        description="Days after which a login ends however much it is used (then the password "
        "is asked again).",
    )

    @field_validator("host")
    @classmethod
    def _ip_address(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value)
        except ValueError as exc:
            raise ValueError("must be an IP address such as 0.0.0.0 or 127.0.0.1") from exc
        return value

    @field_validator("allowed_hosts")
    @classmethod
    def _hostnames(cls, value: list[str]) -> list[str]:
        return [_host_name(name) for name in value]

    @model_validator(mode="after")
    def _ordered(self) -> ServerSettings:
        require_below(self, (("login_days", "login_max_days"),), or_equal=True)
        return self


def _host_name(value: str) -> str:
    """value as a host name or IP address, or ValueError saying what is accepted."""
    name = value.strip().lower().rstrip(".")
    try:
        ipaddress.ip_address(name)
    except ValueError:
        if not HOSTNAME_RE.match(name):
            raise ValueError(
                f"{value!r} is not a host name or IP address (letters, digits, '-' and '.')"
            ) from None
    return name


TOPIC_RE = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")


class MqttSettings(_Section):
    """Home Assistant over MQTT (off by default). A change restarts only the MQTT publisher."""

    enabled: bool = Field(
        False, description="Publish to an MQTT broker with Home Assistant discovery."
    )
    host: str = Field(
        "",
        max_length=253,
        validate_default=True,  # enabled with the default (no host) is an error
        description="The broker's host name or IP address (Home Assistant's Mosquitto add-on: "
        "the Home Assistant machine).",
    )
    port: int = Field(1883, ge=1, le=65535, description="The broker's TCP port (plain MQTT).")
    username: str = Field(
        "", max_length=256, description="User name at the broker; empty: connect anonymously."
    )
    password: str = Field(
        "",
        max_length=256,
        description="Password at the broker, kept in this file (mode 0600, readable only by "
        "the service's user).",
        json_schema_extra={"format": "password"},  # the settings page: a password input
    )
    topic_prefix: str = Field(
        "repcounter",
        min_length=1,
        max_length=100,
        description="First part of every state topic; give each RepCounter on one broker its own.",
    )
    discovery_prefix: str = Field(
        "homeassistant",
        min_length=1,
        max_length=100,
        description="Home Assistant's MQTT discovery prefix (its MQTT integration's setting).",
    )

    @field_validator("host")
    @classmethod
    def _broker_host(cls, value: str, info: ValidationInfo) -> str:
        if value.strip():
            return _host_name(value)
        if info.data.get("enabled"):  # validated first: declared first
            raise ValueError("the broker's address is needed to enable MQTT")
        return ""

    @field_validator("topic_prefix", "discovery_prefix")
    @classmethod
    def _topic(cls, value: str) -> str:
        if not TOPIC_RE.match(value):
            raise ValueError(
                "must be topic levels of letters, digits, '_' or '-' separated by '/' "
                "(no spaces, wildcards or leading or trailing '/')"
            )
        return value


class Settings(_Section):
    """All settings of the appliance, one section per part."""

    camera: CameraSettings = Field(default_factory=CameraSettings)
    model: ModelSettings = Field(default_factory=ModelSettings)
    exercise: ExerciseRules = Field(default_factory=ExerciseRules)
    workout: WorkoutSettings = Field(default_factory=WorkoutSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    mqtt: MqttSettings = Field(default_factory=MqttSettings)


# Which sections a change restarts: everything not listed here applies live.
PIPELINE_SECTIONS = ("camera", "model")
RESTART_SECTIONS = ("server",)


class SettingsInvalid(ConfigError):
    """Settings that fail validation; `fields` lists [{"field": ..., "message": ...}]."""

    def __init__(self, fields: list[dict[str, str]]) -> None:
        self.fields = fields
        super().__init__(
            "invalid settings: " + "; ".join(f"{e['field']}: {e['message']}" for e in fields)
        )


def field_errors(exc: ValidationError) -> list[dict[str, str]]:
    """Pydantic's errors as [{"field": "camera.width", "message": "..."}], for the API and CLI."""
    errors = []
    for error in exc.errors(include_url=False):
        loc = [str(part) for part in error["loc"]]
        if error["type"] == "cross_field":  # a model check naming one of its fields
            loc.append(error["ctx"]["field"])
        field = ".".join(loc) or "(body)"
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown setting"
        errors.append({"field": field, "message": message})
    return errors


def validate(data: Any) -> Settings:
    """Settings from plain data, or SettingsInvalid naming every bad field."""
    if not isinstance(data, dict):
        raise SettingsInvalid([{"field": "(body)", "message": "must be an object of sections"}])
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise SettingsInvalid(field_errors(exc)) from None


def merge(base: dict, changes: dict) -> dict:
    """base with changes applied recursively (a partial update names only what changes)."""
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def changed_sections(old: Settings, new: Settings) -> set[str]:
    return {name for name in Settings.model_fields if getattr(old, name) != getattr(new, name)}


def load(path: Path) -> Settings:
    """The settings in path, or the defaults when the file does not exist yet."""
    try:
        return validate(read_toml(path))
    except FileNotFoundError:
        return Settings()
    except ConfigError as exc:
        raise ConfigError(f"settings file {path}: {exc}") from exc


def read_toml(path: Path) -> dict:
    """The file's TOML data; ConfigError for unreadable, non-UTF-8 or invalid TOML text."""
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ConfigError(f"cannot read it: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"it is not UTF-8 text (byte {exc.start})") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"it is not valid TOML: {exc}") from exc


@dataclass
class SafeMode:
    """Why the defaults are in use: the settings file could not be used."""

    error: str
    moved_to: Path | None  # where the unusable file went (None: it could not be moved)


def load_or_safe_mode(path: Path) -> tuple[Settings, SafeMode | None]:
    """The settings in path; when the file cannot be used, it is moved aside to
    path.broken-<UTC time> and the defaults are used ("safe mode"), so the daemon still serves
    a page that says so instead of failing to start. Safe mode lasts, across restarts, until a
    settings file is written again (any save from the phone, or restoring the moved file)."""
    copies = broken_copies(path)
    if not path.exists() and copies:  # a restart in safe mode
        try:
            load(copies[-1])
            error = "it was set aside (it reads correctly now: restore it)"
        except ConfigError as exc:
            error = str(exc)
        return Settings(), SafeMode(error, copies[-1])
    try:
        return load(path), None
    except ConfigError as exc:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        aside = path.with_name(f"{path.name}.broken-{stamp}")
        try:
            os.replace(path, aside)
        except OSError as move_error:
            return Settings(), SafeMode(f"{exc}; it could not be moved aside: {move_error}", None)
        return Settings(), SafeMode(str(exc), aside)


def broken_copies(path: Path) -> list[Path]:
    """Files set aside by load_or_safe_mode, oldest first."""
    return sorted(path.parent.glob(f"{path.name}.broken-*"))


def render(settings: Settings) -> str:
    """The settings as TOML with each field's description as a comment above it."""
    lines = [
        "# RepCounter settings. Edit here or in the web UI; the field list is in docs/daemon.md.",
        "# Written by RepCounter: comments other than these are not kept.",
    ]
    _render_table(settings, [], lines)
    return "\n".join(lines).strip() + "\n"


def _render_table(model: BaseModel, path: list[str], lines: list[str]) -> None:
    nested = []
    scalars = []
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        (nested if isinstance(value, BaseModel) else scalars).append((name, info, value))
    if path and scalars:
        lines.append("")
        lines.append(f"[{'.'.join(path)}]")
    for name, info, value in scalars:
        if info.description:
            lines.extend(
                textwrap.wrap(info.description, 98, initial_indent="# ", subsequent_indent="# ")
            )
        if value is None:
            lines.append(f"# {name} is not set")
            continue
        lines.append(tomli_w.dumps(model.model_dump(mode="json", include={name})).strip())
    for name, _info, value in nested:
        _render_table(value, [*path, name], lines)


def save(settings: Settings, path: Path) -> None:
    """Mode 0600: the file may hold the MQTT broker's password."""
    write_atomic(path, render(settings), mode=0o600)


def write_atomic(path: Path, text: str, mode: int = 0o644) -> None:
    """Replace path with text in one step: temporary file in the same folder, fsync, rename,
    fsync of the folder. Readers see the old or the new file, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def describe() -> list[dict[str, str]]:
    """Every setting with its type, default and description: the settings reference."""
    rows: list[dict[str, str]] = []
    _describe(Settings(), [], rows)
    return rows


def _describe(model: BaseModel, path: list[str], rows: list[dict[str, str]]) -> None:
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            _describe(value, [*path, name], rows)
            continue
        default = model.model_dump(mode="json", include={name})[name]
        rows.append(
            {
                "field": ".".join([*path, name]),
                "default": tomli_w.dumps({"v": default}).split("=", 1)[1].strip()
                if default is not None
                else "(unset)",
                "description": info.description or "",
            }
        )


def salvage(data: dict) -> tuple[Settings, list[dict[str, str]]]:
    """Settings from data with every field that fails validation left at its default, and the
    fields so dropped [{"field", "message"}]: what can be kept of a broken file."""
    dropped: list[dict[str, str]] = []
    while True:
        try:
            return validate(data), dropped
        except SettingsInvalid as exc:
            dropped.extend(exc.fields)
            smaller = _without(data, [error["field"] for error in exc.fields])
            if smaller == data:
                return Settings(), dropped
            data = smaller


def _without(data: dict, fields: list[str]) -> dict:
    """data without the dotted fields (a field that names no key drops nothing)."""
    data = {k: dict(v) if isinstance(v, dict) else v for k, v in data.items()}
    for field in fields:
        section, _, name = field.partition(".")
        if name and isinstance(data.get(section), dict):
            data[section].pop(name.split(".")[0], None)
        else:
            data.pop(section, None)
    return data
