"""Home Assistant over MQTT against a real Mosquitto broker started here on a free loopback port:
discovery configs, retained states, set events, the last will, a broker that is down, killed
or refuses the password, and settings changes on a running daemon."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from contextlib import closing
from datetime import datetime
from pathlib import Path

import paho.mqtt.client as paho
import pytest

from device.bench.bench_serve import spawn_serve
from device.daemon import config, mqtt
from device.daemon.events import EventBus
from device.history.store import RepRecord, Store
from tests import test_api
from tests.test_serve_e2e import LiveClient, stop, truth
from tests.waiting import wait_until

MOSQUITTO = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin")
needs_mosquitto = pytest.mark.skipif(
    MOSQUITTO is None,
    reason="mosquitto is not installed: apt install mosquitto (CI's .ci/run installs it)",
)
# Fixtures: a running daemon (stand-in model and exercise engine) on a generated looping clip.
clip = test_api.clip
daemon = test_api.daemon
DEVICE = "repcounter_test"
SENSORS = {"exercise", "set_reps", "today_reps", "last_set", "health"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Broker:
    """Mosquitto on 127.0.0.1 with a config of its own; no persistence, so a restart forgets
    every retained message (the worst case for the publisher)."""

    def __init__(self, folder: Path, users: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.folder = folder
        # Started as root, mosquitto would switch to its own user, who cannot read tmp_path.
        user = pwd.getpwuid(os.getuid()).pw_name
        lines = [f"listener {self.port} 127.0.0.1", "persistence false", f"user {user}"]
        if users:
            passwords = folder / "passwords"
            for name, password in users.items():
                subprocess.run(
                    ["mosquitto_passwd", "-b", *(["-c"] if not passwords.exists() else []),
                     str(passwords), name, password],
                    check=True, capture_output=True,
                )  # fmt: skip
            passwords.chmod(0o600)
            lines += ["allow_anonymous false", f"password_file {passwords}"]
        else:
            lines.append("allow_anonymous true")
        self.conf = folder / "mosquitto.conf"
        self.conf.write_text("\n".join(lines) + "\n")
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        log = (self.folder / "mosquitto.log").open("ab")
        self.process = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stdout=log, stderr=log)
        log.close()

        def listening() -> bool:
            with socket.socket() as probe:
                return probe.connect_ex(("127.0.0.1", self.port)) == 0

        assert wait_until(listening, 10), (self.folder / "mosquitto.log").read_text()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)


@pytest.fixture
def broker(tmp_path):
    if MOSQUITTO is None:
        pytest.skip("mosquitto is not installed: apt install mosquitto")
    broker = Broker(tmp_path)
    broker.start()
    yield broker
    broker.kill()


class Listener:
    """A paho client subscribed to everything, recording (topic, payload, retained) in order;
    MQTT 5's retain-as-published shows which messages the publisher retained. It reconnects
    (and subscribes again) when the broker comes back."""

    def __init__(self, port: int, username: str | None = None, password: str | None = None):
        self.messages: list[tuple[str, str, bool]] = []
        self._lock = threading.Lock()
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
        if username:
            self.client.username_pw_set(username, password)
        self.client.reconnect_delay_set(0.1, 0.5)
        options = paho.SubscribeOptions(qos=1, retainAsPublished=True)
        self.client.on_connect = lambda client, *_: client.subscribe("#", options=options)
        self.client.on_message = self._message
        self.client.connect_async("127.0.0.1", port)
        self.client.loop_start()

    def _message(self, client, userdata, message) -> None:
        with self._lock:
            self.messages.append((message.topic, message.payload.decode(), message.retain))

    def values(self, topic: str, since: int = 0) -> list[str]:
        with self._lock:
            return [payload for t, payload, _ in self.messages[since:] if t == topic]

    def latest(self, topic: str) -> str | None:
        values = self.values(topic)
        return values[-1] if values else None

    def json(self, topic: str) -> dict | None:
        value = self.latest(topic)
        return json.loads(value) if value else None

    def retained(self, since: int = 0) -> dict[str, str]:
        """The latest retained payload of each topic."""
        with self._lock:
            return {t: p for t, p, retained in self.messages[since:] if retained and p}

    def mark(self) -> int:
        with self._lock:
            return len(self.messages)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def changes(values: list[str]) -> list[str]:
    """values without consecutive repeats."""
    return [v for i, v in enumerate(values) if i == 0 or v != values[i - 1]]


def settings(port: int, **extra) -> config.MqttSettings:
    return config.MqttSettings(enabled=True, host="127.0.0.1", port=port, **extra)


def add_rep(
    store: Store, set_id: int | None, complete: bool, at: float, person_id: int = 1
) -> tuple[int, int]:
    record = RepRecord("squat", complete, at - 1, at, 1.0, 0.5, 0.5)
    return store.add_rep(record, set_id, 1800, person_id)


def rep_event(bus: EventBus, set_id: int, reps: int, complete: bool = True) -> None:
    """What the live pipeline publishes after storing a rep."""
    bus.publish(
        "rep",
        {"exercise": "squat", "complete": complete, "set": {"set_id": set_id, "reps": reps}},
    )


def set_end(bus: EventBus, set_id: int, reps: int, partial: int = 0) -> None:
    bus.publish(
        "set",
        {"event": "end", "set_id": set_id, "session_id": 1, "person_id": 1, "exercise": "squat",
         "reps": reps, "partial_reps": partial},
    )  # fmt: skip


def publish_history(
    broker: Broker, folder: Path
) -> tuple[Store, EventBus, Listener, mqtt.MqttPublisher]:
    """A history, a bus, a listener on the broker and a started publisher of them."""
    store = Store(folder / "h.sqlite3")
    bus = EventBus()
    listener = Listener(broker.port)
    publisher = mqtt.MqttPublisher(
        settings(broker.port), bus, DEVICE, lambda: mqtt.today_reps(store.path), "1.2.3"
    )
    publisher.start()
    return store, bus, listener, publisher


# --- settings --------------------------------------------------------------------------------


def test_mqtt_is_off_by_default_and_bad_values_name_their_field(tmp_path):
    assert config.Settings().mqtt.enabled is False
    with pytest.raises(config.SettingsInvalid) as caught:
        config.validate({"mqtt": {"enabled": True}})
    assert caught.value.fields[0]["field"] == "mqtt.host"
    assert "needed to enable MQTT" in caught.value.fields[0]["message"]
    with pytest.raises(config.SettingsInvalid) as caught:
        config.validate(
            {"mqtt": {"host": "my broker", "topic_prefix": "gym/#", "discovery_prefix": "/ha"}}
        )
    assert {e["field"] for e in caught.value.fields} == {
        "mqtt.host",
        "mqtt.topic_prefix",
        "mqtt.discovery_prefix",
    }
    ok = config.validate({"mqtt": {"enabled": True, "host": "HA.local.", "password": "pw"}})
    assert ok.mqtt.host == "ha.local"


def test_the_settings_file_holding_the_password_is_private(tmp_path):
    path = tmp_path / "settings.toml"
    config.save(config.Settings(mqtt=settings(1883, username="gym", password="s3cret")), path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert config.load(path).mqtt.password == "s3cret"


def test_the_device_id_is_made_once_and_kept(tmp_path):
    first = mqtt.device_id(tmp_path)
    assert first.startswith("repcounter_") and mqtt.device_id(tmp_path) == first


def test_todays_reps_come_from_the_history_and_exclude_yesterday(tmp_path):
    store = Store(tmp_path / "h.sqlite3")
    now = time.time()
    midnight = datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0, microsecond=0)
    add_rep(store, None, True, midnight.timestamp() - 60)  # yesterday
    _, today = add_rep(store, None, True, now)
    add_rep(store, today, True, now)
    add_rep(store, today, False, now)
    bo = store.add_person("Bo", "#00aa00")["id"]
    add_rep(store, None, True, now, bo)
    _, corrected = add_rep(store, None, True, now, bo)  # counted 1, corrected to 4
    _, deleted = add_rep(store, None, True, now, bo)
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE sets SET corrected_reps=4 WHERE id=?", (corrected,))
        db.execute("UPDATE sets SET deleted_at=? WHERE id=?", (now, deleted))
    assert mqtt.today_reps(store.path, now) == {
        "total": 7, "squat": 7, "pushup": 0, "partial_reps": 1,
        "people": {
            "1": {"name": "Me", "total": 2, "squat": 2, "pushup": 0},
            str(bo): {"name": "Bo", "total": 5, "squat": 5, "pushup": 0},
        },
    }  # fmt: skip
    assert mqtt.today_reps(tmp_path / "none.sqlite3")["total"] == 0


# --- the publisher against a real broker -----------------------------------------------------


@needs_mosquitto
def test_discovery_configs_states_and_a_set_event(broker, tmp_path):
    store, bus, listener, publisher = publish_history(broker, tmp_path)
    try:
        assert wait_until(lambda: listener.latest("repcounter/availability") == "online")
        configs = {
            t: json.loads(p)
            for t, p in listener.retained().items()
            if t.startswith("homeassistant/")
        }
        assert set(configs) == {
            *(f"homeassistant/sensor/{DEVICE}/{key}/config" for key in SENSORS),
            f"homeassistant/sensor/{DEVICE}/today_reps_person_1/config",
            f"homeassistant/event/{DEVICE}/set/config",
        }
        for config_payload in configs.values():
            assert config_payload["device"]["identifiers"] == [DEVICE]
            assert config_payload["device"]["name"] == "RepCounter"
            assert config_payload["device"]["sw_version"] == "1.2.3"
            assert config_payload["availability_topic"] == "repcounter/availability"
            assert config_payload["state_topic"].startswith("repcounter/")
        assert len({c["unique_id"] for c in configs.values()}) == len(configs)
        event_config = configs[f"homeassistant/event/{DEVICE}/set/config"]
        assert event_config["event_types"] == ["set_completed"]
        assert event_config["state_topic"] == "repcounter/set_event"
        exercise = configs[f"homeassistant/sensor/{DEVICE}/exercise/config"]
        assert exercise["options"] == ["none", "squat", "pushup"]

        # A set of three complete reps and a partial one, as the live pipeline publishes it.
        bus.publish("state", {"exercise": "squat", "phase": "top", "set": None})
        set_id = None
        for reps, complete in ((1, True), (2, True), (2, False), (3, True)):
            _, set_id = add_rep(store, set_id, complete, time.time())
            rep_event(bus, set_id, reps, complete)
        set_end(bus, set_id, 3, 1)
        for status, fps in (("ok", 29.5), ("ok", 28.0), ("degraded", 3.0)):  # every second
            health = {"status": status, "pipeline": "running", "camera": {"state": "ok"}}
            bus.publish("health", {**health, "fps": fps})
        assert wait_until(lambda: listener.values("repcounter/set_event"))
        assert wait_until(lambda: len(listener.values("repcounter/health")) == 2)
    finally:
        publisher.stop()
    assert listener.latest("repcounter/exercise") == "squat"
    assert changes(listener.values("repcounter/set_reps")) == ["0", "1", "2", "3", "0"]
    [event] = [json.loads(p) for p in listener.values("repcounter/set_event")]
    assert event["event_type"] == "set_completed"
    assert (event["reps"], event["partial_reps"], event["exercise"]) == (3, 1, "squat")
    assert listener.json("repcounter/last_set")["reps"] == 3
    assert listener.json("repcounter/today") == {
        "total": 3, "squat": 3, "pushup": 0, "partial_reps": 1,
    }  # fmt: skip
    assert listener.json("repcounter/today/person_1") == {
        "name": "Me", "total": 3, "squat": 3, "pushup": 0,
    }  # fmt: skip
    assert event["person"] == "Me"
    # Sent when the status changes, not for every new frame rate.
    health = [json.loads(p) for p in listener.values("repcounter/health")]
    assert [(h["status"], h["fps"]) for h in health] == [("ok", 29.5), ("degraded", 3.0)]
    assert wait_until(lambda: listener.latest("repcounter/availability") == "offline")
    for topic, _, retained in listener.messages:  # states retained, set events not
        assert retained == (topic != "repcounter/set_event"), topic
    listener.close()

    # Home Assistant subscribing later gets every state (retained), but no old set event.
    late = Listener(broker.port)
    assert wait_until(lambda: "repcounter/health" in late.retained())
    retained = late.retained()
    assert retained["repcounter/set_reps"] == "0"
    assert json.loads(retained["repcounter/last_set"])["reps"] == 3
    assert json.loads(retained["repcounter/health"])["status"] == "degraded"
    assert retained["repcounter/availability"] == "offline"
    assert "repcounter/set_event" not in retained
    late.close()


@needs_mosquitto
def test_each_person_gets_a_reps_today_sensor_that_follows_their_profile(broker, tmp_path):
    store, bus, listener, publisher = publish_history(broker, tmp_path)
    ana_config = None
    try:
        assert wait_until(lambda: listener.json("repcounter/today/person_1") is not None)
        ana = store.add_person("Ana", "#ff8800")["id"]
        ana_config = f"homeassistant/sensor/{DEVICE}/today_reps_person_{ana}/config"
        bus.publish("person", {"id": 1})  # what the API sends after a profile change
        assert wait_until(lambda: listener.json(ana_config) is not None)
        assert listener.json(ana_config)["name"] == "Reps today Ana"
        _, set_id = add_rep(store, None, True, time.time(), ana)
        rep_event(bus, set_id, 1)
        assert wait_until(
            lambda: (listener.json(f"repcounter/today/person_{ana}") or {}).get("total") == 1
        )
        assert listener.json("repcounter/today/person_1")["total"] == 0
        with sqlite3.connect(store.path) as db:  # Ana's set moved to person 1
            db.execute("UPDATE sets SET person_id=1")
        store.update_person(ana, {"name": "Ana Maria"})
        bus.publish("person", {"id": 1})
        assert wait_until(lambda: listener.json(ana_config)["name"] == "Reps today Ana Maria")
        assert wait_until(lambda: listener.json("repcounter/today/person_1")["total"] == 1)
        store.delete_person(ana)
        bus.publish("person", {"id": 1})
        assert wait_until(lambda: listener.latest(ana_config) == "")  # removed from HA
    finally:
        publisher.stop()
        listener.close()
    late = Listener(broker.port)  # Home Assistant restarting later sees no sensor for Ana
    assert wait_until(lambda: "repcounter/today/person_1" in late.retained())
    assert ana_config not in late.retained() and f"{DEVICE}_today_reps_person_1" in str(
        late.retained()
    )
    late.close()


@needs_mosquitto
def test_a_broker_down_at_start_then_killed_loses_no_state_and_publishing_resumes(tmp_path):
    broker = Broker(tmp_path)  # not started yet
    bus = EventBus()
    publisher = mqtt.MqttPublisher(
        settings(broker.port), bus, DEVICE, lambda: {"total": 0}, pending_sets=3, backoff_s=(1, 2)
    )
    publisher.start()
    listener = None
    try:
        for set_id in range(1, 6):  # five sets while no broker is there: the newest three wait
            rep_event(bus, set_id, 1)
            set_end(bus, set_id, 1)
        assert wait_until(lambda: publisher.pending_dropped == 2)
        assert wait_until(lambda: publisher.status()["state"] == "unreachable")

        broker.start()
        listener = Listener(broker.port)
        assert wait_until(lambda: len(listener.values("repcounter/set_event")) == 3, 15)
        ids = [json.loads(p)["set_id"] for p in listener.values("repcounter/set_event")]
        assert ids == [3, 4, 5]
        bus.publish("rep", {"exercise": "squat"})  # a malformed event is skipped (and logged)
        for reps in (1, 2):  # the count is followed live again
            rep_event(bus, 6, reps)
            assert wait_until(lambda r=reps: listener.latest("repcounter/set_reps") == str(r))

        broker.kill()  # mid-set; the restarted broker remembers nothing
        rep_event(bus, 6, 3)
        set_end(bus, 6, 3)
        assert wait_until(lambda: publisher.status()["state"] != "connected")
        mark = listener.mark()
        broker.start()
        assert wait_until(lambda: len(listener.values("repcounter/set_event")) == 4, 15)
        assert json.loads(listener.values("repcounter/set_event")[-1])["set_id"] == 6
        assert wait_until(lambda: "repcounter/set_reps" in listener.retained(mark))
        again = listener.retained(mark)  # everything was published again
        assert json.loads(again["repcounter/last_set"])["reps"] == 3
        assert again["repcounter/set_reps"] == "0"
        assert again["repcounter/availability"] == "online"
        assert f"homeassistant/sensor/{DEVICE}/set_reps/config" in again
    finally:
        publisher.stop()
        if listener:
            listener.close()
        broker.kill()


@needs_mosquitto
def test_a_wrong_password_is_reported_and_the_right_one_connects(tmp_path):
    broker = Broker(tmp_path, users={"gym": "right password"})
    broker.start()
    bus = EventBus()
    wrong = mqtt.MqttPublisher(
        settings(broker.port, username="gym", password="wrong"), bus, DEVICE, lambda: {}
    )
    wrong.start()
    try:
        assert wait_until(lambda: wrong.status()["state"].startswith("refused"), 10)
        assert "authorized" in wrong.status()["state"].lower()
    finally:
        wrong.stop()
    listener = Listener(broker.port, "gym", "right password")
    right = mqtt.MqttPublisher(
        settings(broker.port, username="gym", password="right password"), bus, DEVICE, lambda: {}
    )
    right.start()
    try:
        assert wait_until(lambda: listener.latest("repcounter/availability") == "online")
    finally:
        right.stop()
        listener.close()
        broker.kill()


# --- wired into the daemon -------------------------------------------------------------------


@needs_mosquitto
def test_a_settings_change_restarts_only_the_publisher(daemon, broker):
    listener = Listener(broker.port)
    pipeline = daemon.pipeline
    assert daemon.mqtt is None and daemon.health()["mqtt"] == {"state": "off"}

    daemon.update_settings({"mqtt": {"enabled": True, "host": "127.0.0.1", "port": broker.port}})
    assert daemon.pipeline is pipeline  # counting went on
    device = mqtt.device_id(daemon.data_dir)
    assert wait_until(lambda: listener.latest("repcounter/availability") == "online")
    assert f"homeassistant/sensor/{device}/set_reps/config" in listener.retained()
    reps = len(daemon.store.reps())
    assert wait_until(lambda: len(daemon.store.reps()) >= reps + 2)
    assert wait_until(lambda: listener.latest("repcounter/set_reps") not in (None, "0"))
    assert wait_until(lambda: listener.json("repcounter/today")["total"] >= reps + 2)
    assert daemon.health()["mqtt"]["state"] == "connected"

    daemon.update_settings({"mqtt": {"topic_prefix": "garage/gym"}})
    assert daemon.pipeline is pipeline
    assert wait_until(lambda: listener.latest("garage/gym/availability") == "online")
    assert wait_until(lambda: listener.latest("repcounter/availability") == "offline")

    daemon.update_settings({"mqtt": {"enabled": False}})
    assert daemon.mqtt is None and daemon.pipeline is pipeline
    assert wait_until(lambda: listener.latest("garage/gym/availability") == "offline")
    listener.close()


def test_a_broker_that_never_answers_does_not_hold_up_counting(daemon):
    with socket.socket() as black_hole:  # accepts the TCP connection, never answers MQTT
        black_hole.bind(("127.0.0.1", 0))
        black_hole.listen()
        port = black_hole.getsockname()[1]
        daemon.update_settings({"mqtt": {"enabled": True, "host": "127.0.0.1", "port": port}})
        reps = len(daemon.store.reps())
        assert wait_until(lambda: len(daemon.store.reps()) >= reps + 3)
        assert daemon.health()["mqtt"]["state"] != "connected"
        daemon.update_settings({"mqtt": {"enabled": False}})


# --- "Test connection" and the health warning (issue 21) --------------------------------------


@needs_mosquitto
def test_test_connection_names_what_failed(tmp_path):
    """Each failure against a real mosquitto (or a socket standing in for a silent one)."""
    from device.daemon import mqtt_check

    broker = Broker(tmp_path, users={"ha": "secret"})
    broker.start()
    try:
        settings = lambda **kw: config.MqttSettings(enabled=True, **kw)  # noqa: E731
        ok = mqtt_check.check(settings(host="127.0.0.1", port=broker.port, username="ha",
                                       password="secret"))  # fmt: skip
        assert ok["ok"] and ok["failure"] is None
        wrong = mqtt_check.check(settings(host="127.0.0.1", port=broker.port, username="ha",
                                          password="nope"))  # fmt: skip
        assert (wrong["ok"], wrong["failure"]) == (False, "auth"), wrong
        assert "password" in wrong["message"]
        anonymous = mqtt_check.check(settings(host="127.0.0.1", port=broker.port))
        assert anonymous["failure"] == "auth", anonymous
        dns = mqtt_check.check(settings(host="no-such-broker.invalid", port=1883))
        assert dns["failure"] == "dns" and "no-such-broker.invalid" in dns["message"]
        refused = mqtt_check.check(settings(host="127.0.0.1", port=free_port()))
        assert refused["failure"] == "refused" and "refused" in refused["message"]
        with socket.socket() as black_hole:  # accepts the TCP connection, never answers MQTT
            black_hole.bind(("127.0.0.1", 0))
            black_hole.listen()
            port = black_hole.getsockname()[1]
            started = time.monotonic()
            silent = mqtt_check.check(settings(host="127.0.0.1", port=port), timeout=1.0)
            assert silent["failure"] == "timeout" and time.monotonic() - started < 5
    finally:
        broker.kill()


def test_an_unreachable_broker_is_a_health_warning_and_the_api_tests_it(daemon):
    assert not [w for w in daemon.health()["warnings"] if w["kind"] == "mqtt"]
    port = free_port()  # nothing listens there
    daemon.update_settings({"mqtt": {"enabled": True, "host": "127.0.0.1", "port": port}})
    assert wait_until(lambda: daemon.health()["mqtt"]["state"] not in ("connecting", "connected"))
    health = daemon.health()
    [warning] = [w for w in health["warnings"] if w["kind"] == "mqtt"]
    assert f"127.0.0.1:{port}" in warning["message"] and "Test connection" in warning["fix"]
    assert health["status"] == "degraded"
    client, token = test_api.logged_in_client(daemon)
    answer = client.post("/api/mqtt/test", json={}, headers={"X-CSRF-Token": token})
    assert answer.status_code == 200 and answer.json["failure"] == "refused", answer.json
    answer = client.post(
        "/api/mqtt/test", json={"host": "broker.invalid"}, headers={"X-CSRF-Token": token}
    )
    assert answer.json["failure"] == "dns"
    answer = client.post("/api/mqtt/test", json={"port": 0}, headers={"X-CSRF-Token": token})
    assert answer.status_code == 422 and answer.json["field"] == "mqtt.port"
    daemon.update_settings({"mqtt": {"enabled": False}})
    assert not [w for w in daemon.health()["warnings"] if w["kind"] == "mqtt"]


# --- end to end: `repcounter serve` on real clips --------------------------------------------


def serve_clip(shared_data, folder: Path, clip: str, settings: config.Settings, listener=None):
    """`repcounter serve` on a clip that appears once the SSE client (and the MQTT listener,
    when given, has seen the device online), so both see every rep from the first."""
    folder.mkdir(exist_ok=True)
    config.save(settings, folder / "data" / "settings.toml")
    source = folder / clip
    process, port = spawn_serve(source, folder / "data", folder / "serve.log")
    client = LiveClient(port)
    if listener is not None:
        assert wait_until(lambda: listener.latest("repcounter/availability") == "online", 20)
    source.symlink_to(shared_data / "clips" / clip)
    return process, client


def stored_reps(folder: Path) -> list[tuple]:
    with closing(sqlite3.connect(folder / "data" / "history.sqlite3")) as db:
        return db.execute(
            "SELECT set_id, exercise, complete, round(depth, 4) FROM reps ORDER BY id"
        ).fetchall()


@needs_mosquitto
def test_serve_publishes_the_live_count_and_an_event_per_set(shared_data, broker, tmp_path):
    clip = "calimiro_push-up_40.mp4"
    low, high = truth(shared_data, clip)
    listener = Listener(broker.port)
    settings_ = config.Settings(mqtt=settings(broker.port))
    process, client = serve_clip(shared_data, tmp_path, clip, settings_, listener)
    try:
        assert wait_until(lambda: client.set_ends, 90), (tmp_path / "serve.log").read_text()
        assert wait_until(lambda: listener.values("repcounter/set_event"), 10)
        assert wait_until(lambda: "repcounter/health" in listener.retained())
    finally:
        process.send_signal(signal.SIGKILL)  # no goodbye: the broker sends the last will
        process.wait(10)
    complete = [rep for rep in client.reps if rep["complete"]]
    reps = len(complete)
    assert low <= reps <= high and client.set_ends[-1]["reps"] == reps
    # The reps sensor went up one by one with the live count, and back to 0 at the set's end.
    assert changes(listener.values("repcounter/set_reps")) == [
        "0", *(str(n) for n in range(1, reps + 1)), "0",
    ]  # fmt: skip
    assert "pushup" in listener.values("repcounter/exercise")
    [event] = [json.loads(p) for p in listener.values("repcounter/set_event")]
    assert (event["event_type"], event["reps"], event["exercise"]) == (
        "set_completed", reps, "pushup",
    )  # fmt: skip
    assert listener.json("repcounter/last_set")["reps"] == reps
    assert listener.json("repcounter/today")["total"] == reps
    assert listener.json("repcounter/health")["status"] in ("ok", "degraded")
    device = (tmp_path / "data" / "device_id").read_text().strip()
    assert f"homeassistant/event/{device}/set/config" in listener.retained()
    assert wait_until(lambda: listener.latest("repcounter/availability") == "offline", 10)
    listener.close()


@needs_mosquitto
def test_killing_the_broker_mid_set_changes_no_count_and_publishing_resumes(
    shared_data, broker, tmp_path
):
    clip = "darebee_squat.mp4"
    fast = {"file_pace": "fast"}  # every frame is processed: two runs count the same
    baseline, client = serve_clip(
        shared_data, tmp_path / "no_broker", clip, config.Settings(camera=fast)
    )
    try:
        assert wait_until(lambda: client.set_ends, 90)
    finally:
        stop(baseline)
    expected = stored_reps(tmp_path / "no_broker")
    reps = sum(complete for _, _, complete, _ in expected)
    assert reps > 3

    listener = Listener(broker.port)
    settings_ = config.Settings(camera=fast, mqtt=settings(broker.port))
    folder = tmp_path / "broker_killed"
    process, client = serve_clip(shared_data, folder, clip, settings_, listener)
    try:
        assert wait_until(lambda: "2" in listener.values("repcounter/set_reps"), 60)
        broker.kill()
        seen = len(client.reps)
        assert not client.set_ends  # mid-set
        assert wait_until(lambda: len(client.reps) >= seen + 2 or client.set_ends, 60)
        mark = listener.mark()
        broker.start()  # with no retained message left: all must be published again
        assert wait_until(lambda: client.set_ends, 90)
        assert wait_until(lambda: listener.values("repcounter/set_event"), 30)
        assert wait_until(lambda: json.loads(listener.retained(mark).get(
            "repcounter/last_set", "{}")).get("reps") == reps, 10)  # fmt: skip
    finally:
        stop(process)
    assert stored_reps(folder) == expected  # the same reps, depths and sets as with no broker
    assert client.set_ends[-1]["reps"] == reps
    [event] = [json.loads(p) for p in listener.values("repcounter/set_event")]
    assert event["reps"] == reps
    again = listener.retained(mark)
    assert json.loads(again["repcounter/today"])["total"] == reps
    assert again["repcounter/set_reps"] == "0"
    device = (folder / "data" / "device_id").read_text().strip()
    assert f"homeassistant/sensor/{device}/set_reps/config" in again
    assert wait_until(lambda: listener.latest("repcounter/availability") == "offline")
    listener.close()
