"""`make deb`: dist/repcounter_<version>_<arch>.deb, built with dpkg-deb.

One package per architecture serves Bookworm (Python 3.11) and Trixie (Python 3.13): it carries
the app's wheel and every dependency's wheel for both Pythons, resolved by pip for the target
platform, and postinst builds the venv from them with --no-index (no network on the device).
Building the venv at install time, rather than shipping one, is what lets one file fit both
suites: a venv is tied to the Python it was made with.

Usage: python packaging/build_deb.py [--arch amd64|arm64] [--version V] [--out dist]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging" / "deb"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "repcounter-deb"
PYTHONS = ("3.11", "3.13")  # Bookworm, Trixie (Raspberry Pi OS follows Debian)
MACHINE = {"amd64": "x86_64", "arm64": "aarch64"}
MANYLINUX = ("2014", "_2_17", "_2_24", "_2_26", "_2_27", "_2_28", "_2_31", "_2_34", "_2_35")
# What the package needs from the system. Python and its venv module for the app; adduser and
# init-system-helpers for the maintainer scripts. Every other library comes in the wheels.
DEPENDS = "python3 (>= 3.11), python3-venv, adduser, init-system-helpers (>= 1.54)"
RECOMMENDS = "avahi-daemon, python3-picamera2"
MAINTAINER = "RepCounter developers <repcounter@lists.example.org>"


def run(*command: str | Path, **kwargs) -> None:
    print("+", " ".join(str(c) for c in command), flush=True)
    subprocess.run([str(c) for c in command], check=True, **kwargs)


def project_version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def schema_version() -> int:
    sys.path.insert(0, str(ROOT))
    from device.history.schema import MIGRATIONS

    return len(MIGRATIONS)


def app_wheel(work: Path) -> Path:
    """The app's own wheel, built from this checkout."""
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", work, ROOT)
    return next(work.glob("repcounter-*.whl"))


def dependency_wheels(wheel: Path, extra: str, arch: str, dest: Path) -> None:
    """Every wheel the app needs on arch for each Python, resolved by pip for that platform
    (binary wheels only: the device builds nothing)."""
    platforms = [f"--platform=manylinux{tag}_{MACHINE[arch]}" for tag in MANYLINUX]
    for python in PYTHONS:
        run(
            sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:",
            *platforms, f"--python-version={python}", "--implementation=cp",
            f"--cache-dir={CACHE / 'pip'}", "-d", dest, f"{wheel}{extra}",
        )  # fmt: skip


def control(version: str, arch: str, installed_kib: int) -> str:
    return f"""Package: repcounter
Version: {version}
Architecture: {arch}
Maintainer: {MAINTAINER}
Installed-Size: {installed_kib}
Depends: {DEPENDS}
Recommends: {RECOMMENDS}
Section: misc
Priority: optional
Homepage: https://github.com/repcounter/repcounter
Description: home-gym appliance that counts squats and push-ups
 RepCounter watches a camera on a Raspberry Pi (or any Debian machine), counts
 squats and push-ups with the MoveNet pose model and gives form cues on a
 phone's web page. It keeps a training history per person and can report to
 Home Assistant over MQTT.
 .
 The package carries every Python wheel it needs and builds its venv in
 /opt/repcounter at install time without network access.
"""


def changelog(version: str) -> bytes:
    date = subprocess.run(
        ["date", "-R", "-u", "-d", "@" + os.environ.get("SOURCE_DATE_EPOCH", "1767225600")],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    text = (
        f"repcounter ({version}) unstable; urgency=medium\n\n"
        "  * Release built by `make deb`; see README.md for what changed.\n\n"
        f" -- {MAINTAINER}  {date}\n"
    )
    return gzip.compress(text.encode(), mtime=0)


COPYRIGHT = """Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: repcounter
Source: https://github.com/repcounter/repcounter

Files: *
Copyright: 2025-2026 RepCounter developers
License: Apache-2.0

Files: opt/repcounter/models/*
Copyright: 2021-2023 Google LLC
License: Apache-2.0
Comment: MoveNet models from TensorFlow Hub (via npm) and google-coral/test_data.

Files: opt/repcounter/wheels/*
Copyright: the authors of each Python package
License: various
 Each wheel carries its own license files in its .dist-info folder.

License: Apache-2.0
 On Debian systems, the full text of the Apache License 2.0 can be found in
 /usr/share/common-licenses/Apache-2.0.
"""


def unit_text() -> str:
    """The repository's unit, with the models folder the package installs."""
    unit = (ROOT / "systemd" / "repcounter.service").read_text()
    return unit.replace(
        "Documentation=file:///opt/repcounter/README.md",
        "Documentation=file:///usr/share/doc/repcounter/README.md",
    )


def build(arch: str, version: str, out: Path) -> Path:
    extra = "[pi]" if arch == "arm64" else ""
    with tempfile.TemporaryDirectory(prefix="repcounter-deb-") as tmp:
        work = Path(tmp)
        stage = work / "root"
        wheels = stage / "opt" / "repcounter" / "wheels"
        wheels.mkdir(parents=True)
        wheel = app_wheel(work)
        shutil.copy2(wheel, wheels)
        dependency_wheels(wheel, extra, arch, wheels)
        models = stage / "opt" / "repcounter" / "models"
        models.mkdir()
        for model in (ROOT / "models").iterdir():
            shutil.copy2(model, models)
        _install(PACKAGING / "repcounter", stage / "usr" / "bin" / "repcounter", 0o755)
        unit = stage / "usr" / "lib" / "systemd" / "system" / "repcounter.service"
        unit.parent.mkdir(parents=True)
        unit.write_text(unit_text())
        _install(PACKAGING / "avahi.service", stage / "etc/avahi/services/repcounter.service")
        _install(PACKAGING / "lintian-overrides", stage / "usr/share/lintian/overrides/repcounter")
        man = stage / "usr" / "share" / "man" / "man1" / "repcounter.1.gz"
        man.parent.mkdir(parents=True)
        man.write_bytes(gzip.compress((PACKAGING / "repcounter.1").read_bytes(), mtime=0))
        doc = stage / "usr" / "share" / "doc" / "repcounter"
        doc.mkdir(parents=True)
        (doc / "copyright").write_text(COPYRIGHT)
        (doc / "changelog.gz").write_bytes(changelog(version))
        shutil.copy2(ROOT / "README.md", doc / "README.md")
        debian = stage / "DEBIAN"
        debian.mkdir()
        for script in ("preinst", "postinst", "prerm", "postrm"):
            text = (PACKAGING / script).read_text()
            text = text.replace("@SCHEMA@", str(schema_version())).replace("@EXTRA@", extra)
            (debian / script).write_text(text)
            (debian / script).chmod(0o755)
        (debian / "conffiles").write_text("/etc/avahi/services/repcounter.service\n")
        size = sum(p.stat().st_size for p in stage.rglob("*") if p.is_file()) // 1024
        (debian / "control").write_text(control(version, arch, size))
        (debian / "md5sums").write_text(_md5sums(stage))
        for path in stage.rglob("*"):
            if path.is_dir():
                path.chmod(0o755)
            elif path.parent != debian and path.suffix != "" and path.stat().st_mode & 0o111:
                path.chmod(0o644)
        out.mkdir(parents=True, exist_ok=True)
        deb = out / f"repcounter_{version}_{arch}.deb"
        # The wheels are zip files already: more compression would spend minutes to gain little.
        run("dpkg-deb", "--root-owner-group", "-Zgzip", "-z1", "--build", stage, deb)
    return deb


def _install(source: Path, dest: Path, mode: int = 0o644) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, dest)
    dest.chmod(mode)


def _md5sums(stage: Path) -> str:
    lines = []
    for path in sorted(stage.rglob("*")):
        if path.is_file() and "DEBIAN" not in path.relative_to(stage).parts:
            digest = hashlib.md5(path.read_bytes()).hexdigest()
            lines.append(f"{digest}  {path.relative_to(stage)}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_arch = subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    ).stdout.strip()
    parser.add_argument("--arch", choices=sorted(MACHINE), default=default_arch)
    parser.add_argument("--version", default=project_version(), help="the Debian version")
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    args = parser.parse_args()
    print(build(args.arch, args.version, args.out))


if __name__ == "__main__":
    main()
