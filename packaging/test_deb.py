"""`make test-deb`: the Debian package on a booted Debian (systemd as PID 1, systemd-nspawn).

Builds the package (and lints it when lintian is installed). For each suite (default: bookworm
trixie), on a copy of a cached minimal root file system: install the package offline, wait for
the unit to be active (Type=notify: ready means serving), check the unit's hardening in the
running service, do the first-run setup and count a clip through the API from the host, run
`repcounter doctor` inside, refuse an older package over a newer history (nothing changed),
upgrade to a rebuilt package with a higher version and check that the history and the login
survived, then remove (history kept) and purge (history gone). Needs root, mmdebstrap and
systemd-container; the root file systems are cached in ~/.cache/repcounter-deb/rootfs. The
container shares the host's network; the service gets a free port through a settings file
written before the install.

Usage: python packaging/test_deb.py [--arch amd64] SUITE...
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "packaging")]  # not `import packaging`: PyPI's name

import build_deb  # noqa: E402

from device.bench.api_client import ApiClient  # noqa: E402
from device.history.schema import MIGRATIONS  # noqa: E402

CACHE = build_deb.CACHE / "rootfs"
WORK = Path("/var/tmp/repcounter-test-deb")
CLIPS = ROOT.parent / "shared" / "data" / "clips"
CLIP = "darebee_squat.mp4"
PASSWORD = "package test password"
INCLUDE = "systemd-sysv,dbus,python3,python3-venv,adduser,init-system-helpers,procps"
OFFLINE = "http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 PIP_NO_INDEX=1"
PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def log(message: str) -> None:
    print(f"[test-deb {time.strftime('%H:%M:%S')}] {message}", flush=True)


def wait_for(what: str, condition: Callable[[], object], timeout: float, every: float = 1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def rootfs(suite: str) -> Path:
    """The cached minimal root file system of suite, made by mmdebstrap on first use."""
    done = CACHE / suite
    if not done.is_dir():
        partial = CACHE / f"{suite}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        CACHE.mkdir(parents=True, exist_ok=True)
        log(f"making the {suite} root file system (about a minute, once)")
        subprocess.run(["mmdebstrap", "--variant=minbase", f"--include={INCLUDE}", suite,
                        str(partial)], check=True)  # fmt: skip
        partial.rename(done)
    return done


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Machine:
    """A booted copy of a root file system: commands run in it through nsenter."""

    def __init__(self, suite: str) -> None:
        self.name = f"rc-deb-{suite}"
        self.root = WORK / suite
        shutil.rmtree(self.root, ignore_errors=True)
        WORK.mkdir(parents=True, exist_ok=True)
        subprocess.run(["cp", "-a", "--reflink=auto", str(rootfs(suite)), str(self.root)],
                       check=True)  # fmt: skip
        self.console = (WORK / f"{suite}.console.log").open("w")
        self.process: subprocess.Popen | None = None
        self.pid = 0

    def boot(self) -> None:
        # --register=no --keep-unit: the host has no system bus (docs/design.md).
        self.process = subprocess.Popen(
            ["systemd-nspawn", "-q", "-D", str(self.root), "-b", "--register=no",
             "--keep-unit", "-M", self.name, "--console=passive"],
            stdout=self.console, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.pid = wait_for("the container's PID 1", self._init_pid, 30, 0.2)
        state = wait_for("systemd to finish booting", self._booted, 120)
        log(f"booted: {state}")

    def _init_pid(self) -> int:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"systemd-nspawn exited: {self.console.name}")
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        text = children.read_text().split() if children.exists() else []
        return int(text[0]) if text else 0

    def _booted(self) -> str:
        state = self.sh("systemctl is-system-running", check=False).stdout.strip()
        return state if state in ("running", "degraded") else ""

    def sh(self, script: str, check: bool = True, timeout: float = 600):
        """Run a shell script inside, as root with a clean environment."""
        command = ["nsenter", "-t", str(self.pid), "-a", "env", "-i", PATH, "LANG=C.UTF-8",
                   "sh", "-c", script]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise AssertionError(
                f"`{script}` exited {done.returncode}:\n{done.stdout}{done.stderr}"
            )
        return done

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None and self.pid:
            try:
                subprocess.run(["kill", "-s", "SIGRTMIN+4", str(self.pid)], timeout=5)  # poweroff
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.send_signal(signal.SIGKILL)
                self.process.wait(10)
        self.console.close()
        shutil.rmtree(self.root, ignore_errors=True)


def install(machine: Machine, deb: Path) -> subprocess.CompletedProcess:
    """apt-get install of the file with the network cut off (a proxy that refuses)."""
    shutil.copy2(deb, machine.root / "root" / deb.name)
    return machine.sh(
        f"{OFFLINE} DEBIAN_FRONTEND=noninteractive apt-get install -y "
        f"--no-install-recommends --allow-downgrades /root/{deb.name}",
        check=False,
    )


def unit_active(machine: Machine) -> bool:
    return machine.sh("systemctl is-active repcounter", check=False).stdout.strip() == "active"


HISTORY = "var/lib/repcounter/history.sqlite3"


def history_digest(machine: Machine) -> str:
    return hashlib.sha256((machine.root / HISTORY).read_bytes()).hexdigest()


def set_schema(machine: Machine, version: int) -> None:
    """Stop the service and mark the history as written by schema `version`."""
    machine.sh("systemctl stop repcounter")
    pragma = f"PRAGMA user_version={version}"
    script = f"import sqlite3; sqlite3.connect('/{HISTORY}').execute('{pragma}')"
    machine.sh(f'python3 -c "{script}"')


HARDENING_SCRIPT = r"""
pid=$(systemctl show -p MainPID --value repcounter)
grep -E '^(NoNewPrivs|Seccomp|CapEff|CapBnd|CapAmb):' /proc/$pid/status
[ "$(readlink /proc/$pid/ns/mnt)" != "$(readlink /proc/1/ns/mnt)" ] && echo "own mounts: yes"
touch /tmp/host-side
in_service() { nsenter -t "$pid" -m "$@" >/dev/null 2>&1 && echo yes || echo no; }
echo "writes /usr: $(in_service touch /usr/.probe)"
echo "writes /var/lib/repcounter: $(in_service touch /var/lib/repcounter/.probe)"
echo "sees the host's /tmp: $(in_service test -e /tmp/host-side)"
echo "sees /root: $(in_service sh -c 'ls -A /root | grep -q .')"  # it holds the .deb
nsenter -t "$pid" -m rm -f /var/lib/repcounter/.probe
"""
EXPECTED_HARDENING = {
    "NoNewPrivs": "1",  # NoNewPrivileges=
    "Seccomp": "2",  # SystemCallFilter=
    "CapEff": "0" * 16,  # CapabilityBoundingSet= (empty), User=
    "CapBnd": "0" * 16,
    "CapAmb": "0" * 16,  # AmbientCapabilities=
    "own mounts": "yes",
    "writes /usr": "no",  # ProtectSystem=strict
    "writes /var/lib/repcounter": "yes",  # StateDirectory=
    "sees the host's /tmp": "no",  # PrivateTmp=
    "sees /root": "no",  # ProtectHome=
}


def check_hardening(machine: Machine) -> list[str]:
    """What the kernel shows of the unit's hardening in the running service, checked from
    inside its own mount namespace; the lines it read."""
    lines = machine.sh(HARDENING_SCRIPT).stdout.splitlines()
    found = {key.strip(): value.strip() for key, value in (line.split(":", 1) for line in lines)}
    assert found == EXPECTED_HARDENING, found
    return lines


def expected_reps() -> tuple[int, int]:
    with (CLIPS / "truth.tsv").open(newline="") as handle:
        row = next(r for r in csv.DictReader(handle, delimiter="\t") if r["file"] == CLIP)
    return int(row["reps"]), int(row["reps_max"])


def clip_ended(client: ApiClient) -> bool:
    status, health = client.json("GET", "/api/health")
    ended = status == 200 and health["camera"]["state"] == "ended"
    return ended and health["source"].endswith(CLIP)


def settled(client: ApiClient, seen: list[int]) -> bool:
    """True once the count read now equals the two reads before it (a second apart)."""
    seen.append(counted(client))
    return len(seen) >= 3 and seen[-1] == seen[-2] == seen[-3]


def counted(client: ApiClient) -> int:
    status, answer = client.json("GET", "/api/sessions")
    assert status == 200, answer
    return sum(session["reps"] for session in answer["sessions"])


def test_suite(suite: str, debs: tuple[Path, Path, Path]) -> None:
    old, new, newest_schema_check = debs
    machine = Machine(suite)
    port = free_port()
    data = machine.root / "var/lib/repcounter"
    data.mkdir(mode=0o700, parents=True)
    (data / "settings.toml").write_text(f"[server]\nport = {port}\n")  # a free port on the host
    shutil.copy2(CLIPS / CLIP, machine.root / "srv" / CLIP)
    started = time.monotonic()
    try:
        machine.boot()
        done = install(machine, old)
        assert done.returncode == 0, f"install failed:\n{done.stdout}{done.stderr}"
        assert f".local:{port}" in done.stdout, done.stdout  # postinst prints the phone address
        log(f"installed {old.name} offline ({time.monotonic() - started:.0f} s)")
        wait_for("repcounter.service to be active", lambda: unit_active(machine), 180)
        journal = machine.sh("journalctl -u repcounter --no-pager", check=False).stdout
        assert "Failed to" not in journal, journal  # every hardening line of the unit holds
        assert f".local:{port}" in journal, journal  # serve logs the phone's addresses
        log("hardening in effect:\n" + "\n".join(check_hardening(machine)))

        client = ApiClient("127.0.0.1", port, timeout=30)
        client.log_in(PASSWORD)  # first-run setup, from the host
        status, answer = client.json(
            "PUT", "/api/settings",
            # fast: every frame is processed, however busy the machine (realtime drops frames)
            {"camera": {"source": f"/srv/{CLIP}", "file_pace": "fast", "file_loop": False}},
        )  # fmt: skip
        assert status == 200, answer
        reps, reps_max = expected_reps()
        wait_for("the clip to end", lambda: clip_ended(client), 180, 1)
        seen: list[int] = []  # the last frames' reps are stored just after the end
        wait_for("the count to settle", lambda: settled(client, seen), 30, 1)
        total = counted(client)
        assert reps - 1 <= total <= reps_max + 1, f"counted {total}, truth {reps}-{reps_max}"
        log(f"counted {total} reps of {CLIP} (truth {reps}-{reps_max}) through the API")
        # No camera from now on, so no restart counts the clip again.
        status, answer = client.json("PUT", "/api/settings", {"camera": {"source": "/dev/video99"}})
        assert status == 200, answer

        doctor = machine.sh("runuser -u repcounter -- repcounter doctor", check=False)
        log("doctor inside:\n" + doctor.stdout)
        for line in ("OK   service", "OK   data dir"):
            assert line in doctor.stdout, doctor.stdout
        assert "FAIL model" not in doctor.stdout, doctor.stdout

        # An older package over a newer history: refused, nothing changed.
        set_schema(machine, 99)
        before = history_digest(machine)
        refused = install(machine, newest_schema_check)
        said = refused.stdout + refused.stderr
        assert refused.returncode != 0 and "newer than this package" in said, said
        assert history_digest(machine) == before
        version = machine.sh("dpkg-query -W -f '${Version}' repcounter").stdout
        assert version == old.name.split("_")[1], version
        set_schema(machine, len(MIGRATIONS))  # the schema it had: this package's
        machine.sh("systemctl reset-failed repcounter; systemctl start repcounter")
        wait_for("repcounter.service to be active again", lambda: unit_active(machine), 120)
        log("an older package over a newer history was refused and changed nothing")

        done = install(machine, new)
        assert done.returncode == 0, f"upgrade failed:\n{done.stdout}{done.stderr}"
        wait_for("the upgraded service to be active", lambda: unit_active(machine), 180)
        status, _ = client.json("GET", "/api/state")
        assert status == 200, "the login from before the upgrade no longer works"
        assert counted(client) == total, "the history changed in the upgrade"
        again = ApiClient("127.0.0.1", port, timeout=30)
        again.log_in(PASSWORD)  # a login, not a setup: the password survived
        log(f"upgraded to {new.name}: history and login kept")

        machine.sh(f"{OFFLINE} apt-get remove -y repcounter")
        assert (data / "history.sqlite3").exists(), "remove deleted the history"
        assert not (machine.root / "opt/repcounter/.venv").exists()
        assert not unit_active(machine)
        machine.sh(f"{OFFLINE} apt-get purge -y repcounter")
        assert not data.exists(), "purge kept /var/lib/repcounter"
        assert not (machine.root / "opt/repcounter").exists()
        log(f"{suite}: passed in {time.monotonic() - started:.0f} s")
    finally:
        machine.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suites", nargs="*", default=["bookworm", "trixie"])
    parser.add_argument("--arch", default="amd64")
    args = parser.parse_args()
    base = build_deb.project_version()
    out = WORK / "debs"
    shutil.rmtree(out, ignore_errors=True)
    log("building the package and a rebuilt one with a higher version")
    old = build_deb.build(args.arch, base, out)
    new = build_deb.build(args.arch, f"{base}+test1", out)
    older = build_deb.build(args.arch, f"{base}~test0", out)  # the schema check of preinst
    if shutil.which("lintian"):  # clean, apart from the tag its override file explains
        subprocess.run(["lintian", "--fail-on", "error,warning", str(old)], check=True)
        log("lintian: clean")
    for suite in args.suites:
        test_suite(suite, (old, new, older))
    return 0


if __name__ == "__main__":
    sys.exit(main())
