"""Home Assistant over MQTT: the live count, today's reps, the last set and the pipeline's health
as Home Assistant entities (MQTT discovery), plus an event per completed set.

The publisher reads the in-process event bus from its own thread through a bounded subscription
(oldest events dropped and counted when it falls behind), and paho-mqtt's network thread
connects, and reconnects with backoff, to the broker. Counting never waits for either: the
pipeline only appends to the subscription's queue. States are retained and kept here as the
latest value per topic, so a broker that comes back (even one that lost its retained messages)
gets every discovery config and the current states again; set events that happen while it is
away wait in a bounded queue. A last will marks the device offline if the connection drops.
"""

from __future__ import annotations

import json
import logging
import secrets
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from contextlib import closing, suppress
from datetime import datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho

from device.daemon.config import MqttSettings, write_atomic
from device.daemon.events import Event, EventBus
from device.exercise.tracker import MODES

log = logging.getLogger(__name__)

ONLINE, OFFLINE = "online", "offline"
SET_EVENT_TYPE = "set_completed"
EXERCISES = tuple(mode for mode in MODES if mode != "auto")
FUTURE_SLACK_S = 1.0  # a rep stored this instant may be a moment ahead of the reader
HEALTH_EVERY_S = 60.0  # the frame rate is refreshed this often; other health changes at once
KINDS = {"state", "rep", "set", "health", "person"}


def device_id(data_dir: Path) -> str:
    """This appliance's id for Home Assistant, made once and kept in DATA_DIR/device_id."""
    path = data_dir / "device_id"
    try:
        value = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        value = ""
    if not value:
        value = f"repcounter_{secrets.token_hex(6)}"
        write_atomic(path, value + "\n")
    return value


def today_reps(db_path: Path, now: float | None = None) -> dict[str, Any]:
    """Today's (local day) complete reps per exercise and partial reps, from the history: the
    household's, and in "people" each person's ({id: {name, total, per exercise}}, everyone
    with a profile, 0 when they did not train). A set's corrected count replaces its counted
    reps; deleted sets count for nothing. Reps dated after now (counted while the clock was
    ahead) are not today's, whatever day they name.

    Reads through its own read-only connection: in WAL mode a reader never waits for the
    pipeline's writes, nor they for it.
    """
    now = time.time() if now is None else now
    midnight = datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0, microsecond=0)
    household = _counts()
    household["partial_reps"] = 0
    try:
        with closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)) as db:
            people = db.execute("SELECT id, name FROM people ORDER BY id").fetchall()
            sets = db.execute(
                "SELECT t.person_id, t.exercise, coalesce(t.corrected_reps, sum(r.complete)),"
                " sum(1 - r.complete) FROM sets t JOIN reps r ON r.set_id = t.id"
                " WHERE r.ended_at >= ? AND r.ended_at <= ? AND t.deleted_at IS NULL"
                " GROUP BY t.id",
                (midnight.timestamp(), now + FUTURE_SLACK_S),
            ).fetchall()
    except sqlite3.OperationalError:  # no history yet
        return {**household, "people": {}}
    per_person = {person_id: {"name": name, **_counts()} for person_id, name in people}
    for person_id, exercise, complete, partial in sets:
        for counts in (household, per_person.get(person_id)):
            if counts is not None:
                counts[exercise] = counts.get(exercise, 0) + int(complete)
                counts["total"] += int(complete)
        household["partial_reps"] += int(partial)
    return {**household, "people": {str(key): value for key, value in per_person.items()}}


def _counts() -> dict[str, int]:
    return {"total": 0} | {exercise: 0 for exercise in EXERCISES}


class Topics:
    """Every topic of one appliance."""

    def __init__(self, settings: MqttSettings, device: str) -> None:
        base = settings.topic_prefix
        self.availability = f"{base}/availability"
        self.exercise = f"{base}/exercise"
        self.set_reps = f"{base}/set_reps"
        self.today = f"{base}/today"
        self.last_set = f"{base}/last_set"
        self.health = f"{base}/health"
        self.set_event = f"{base}/set_event"
        self._discovery = settings.discovery_prefix
        self._device = device

    def config(self, component: str, key: str) -> str:
        return f"{self._discovery}/{component}/{self._device}/{key}/config"

    def person_today(self, person_id: str) -> str:
        return f"{self.today}/person_{person_id}"

    def person_config(self, person_id: str) -> str:
        return self.config("sensor", f"today_reps_person_{person_id}")


def _shared(topics: Topics, device: str, version: str) -> dict[str, Any]:
    """What every entity's discovery config repeats: the device and availability."""
    return {
        "availability_topic": topics.availability,
        "device": {
            "identifiers": [device],
            "name": "RepCounter",
            "manufacturer": "RepCounter",
            "model": "RepCounter",
            "sw_version": version,
        },
        "origin": {"name": "RepCounter", "sw_version": version},
    }


def discovery(topics: Topics, device: str, version: str) -> dict[str, dict]:
    """Home Assistant discovery configs (topic -> payload) of the device's fixed entities."""
    shared = _shared(topics, device, version)
    entities: dict[tuple[str, str], dict[str, Any]] = {
        ("sensor", "exercise"): {
            "name": "Exercise",
            "state_topic": topics.exercise,
            "device_class": "enum",
            "options": ["none", *EXERCISES],
            "icon": "mdi:weight-lifter",
        },
        ("sensor", "set_reps"): {
            "name": "Reps in set",
            "state_topic": topics.set_reps,
            "unit_of_measurement": "reps",
            "state_class": "measurement",
            "icon": "mdi:counter",
        },
        ("sensor", "today_reps"): {
            "name": "Reps today",
            "state_topic": topics.today,
            "value_template": "{{ value_json.total }}",
            "json_attributes_topic": topics.today,
            "unit_of_measurement": "reps",
            "state_class": "total_increasing",
            "icon": "mdi:calendar-today",
        },
        ("sensor", "last_set"): {
            "name": "Last set",
            "state_topic": topics.last_set,
            "value_template": "{{ value_json.reps }}",
            "json_attributes_topic": topics.last_set,
            "unit_of_measurement": "reps",
            "icon": "mdi:dumbbell",
        },
        ("sensor", "health"): {
            "name": "Pipeline health",
            "state_topic": topics.health,
            "value_template": "{{ value_json.status }}",
            "json_attributes_topic": topics.health,
            "entity_category": "diagnostic",
            "icon": "mdi:heart-pulse",
        },
        ("event", "set"): {
            "name": "Set completed",
            "state_topic": topics.set_event,
            "event_types": [SET_EVENT_TYPE],
            "icon": "mdi:flag-checkered",
        },
    }
    return {
        topics.config(component, key): {**config, "unique_id": f"{device}_{key}", **shared}
        for (component, key), config in entities.items()
    }


def person_discovery(
    topics: Topics, device: str, version: str, person_id: str, name: str
) -> tuple[str, dict]:
    """The discovery config (topic, payload) of one person's "Reps today" sensor."""
    config = {
        "name": f"Reps today {name}",
        "state_topic": topics.person_today(person_id),
        "value_template": "{{ value_json.total }}",
        "json_attributes_topic": topics.person_today(person_id),
        "unit_of_measurement": "reps",
        "state_class": "total_increasing",
        "icon": "mdi:account",
        "unique_id": f"{device}_today_reps_person_{person_id}",
        **_shared(topics, device, version),
    }
    return topics.person_config(person_id), config


def _health_summary(health: dict) -> dict:
    """What the health sensor shows: the status and what explains it."""
    camera = health.get("camera") or {}
    return {
        "status": health.get("status", "unknown"),
        "pipeline": health.get("pipeline"),
        "camera": camera.get("state"),
        "camera_error": camera.get("error"),
        "fps": health.get("fps"),
        "warnings": [w.get("message") for w in health.get("warnings", [])],
    }


def _dumps(data: dict) -> str:
    return json.dumps(data, separators=(",", ":"))


class MqttPublisher:
    """Publishes the bus's events to one broker from its own thread. start() once, stop() once."""

    def __init__(
        self,
        settings: MqttSettings,
        bus: EventBus,
        device: str,
        today: Callable[[], dict[str, Any]],
        version: str = "unknown",
        queue_size: int = 256,
        pending_sets: int = 100,
        backoff_s: tuple[int, int] = (1, 30),
    ) -> None:
        self.settings = settings
        self.bus = bus
        self.device = device
        self.topics = Topics(settings, device)
        self._today = today
        self.version = version
        self._configs = discovery(self.topics, device, version)
        self._people: dict[str, str] = {}  # id -> name of those whose sensors were announced
        self._queue_size = queue_size
        self._subscription = None
        self._retained: dict[str, str] = {}  # topic -> latest state payload
        self._dirty: set[str] = set()
        self._pending: deque[str] = deque(maxlen=pending_sets)  # set events to send
        self.pending_dropped = 0
        self._health_sent: tuple[dict, float] | None = None
        self._day = datetime.now().date()
        self._connected = threading.Event()
        self._resync = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.state = "connecting"
        self.published = 0

        self.client = paho.Client(
            paho.CallbackAPIVersion.VERSION2,
            client_id=f"{device}-{secrets.token_hex(3)}",
            protocol=paho.MQTTv311,
        )
        if settings.username:
            self.client.username_pw_set(settings.username, settings.password or None)
        self.client.will_set(self.topics.availability, OFFLINE, qos=1, retain=True)
        self.client.reconnect_delay_set(*backoff_s)
        self.client.max_queued_messages_set(pending_sets)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_connect_fail = self._on_connect_fail

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        self._subscription = self.bus.subscribe(KINDS, maxsize=self._queue_size)
        self._seed()
        # connect_async: the network thread connects (DNS, TCP) and retries with backoff.
        self.client.connect_async(self.settings.host, self.settings.port, keepalive=30)
        self.client.loop_start()
        self._thread = threading.Thread(target=self._run, name="mqtt", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 3.0) -> None:
        """Mark the device offline (a clean disconnect sends no last will) and disconnect."""
        self._stop.set()
        if self._subscription is not None:
            self._subscription.close()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._connected.is_set():
            info = self.client.publish(self.topics.availability, OFFLINE, qos=1, retain=True)
            # If the connection drops meanwhile, the broker sends the last will instead.
            with suppress(RuntimeError, ValueError):
                info.wait_for_publish(timeout)
        self.client.disconnect()
        self.client.loop_stop()

    def status(self) -> dict:
        """For /api/health."""
        subscription = self._subscription
        return {
            "broker": f"{self.settings.host}:{self.settings.port}",
            "state": self.state,
            "published": self.published,
            "dropped_events": subscription.dropped if subscription else 0,
            "dropped_set_events": self.pending_dropped,
        }

    # --- paho's network thread -------------------------------------------------------------

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self.state = f"refused: {reason_code}"
            log.warning("MQTT broker %s refused the connection: %s", self.status()["broker"],
                        reason_code)  # fmt: skip
            return
        self.state = "connected"
        self._resync = True
        self._connected.set()
        log.info("MQTT connected to %s", self.status()["broker"])

    def _on_connect_fail(self, client, userdata) -> None:
        if self.state != "unreachable":
            log.warning("MQTT broker %s is unreachable; retrying", self.status()["broker"])
        self.state = "unreachable"

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        was_connected = self._connected.is_set()
        self._connected.clear()
        if not self._stop.is_set():
            if not self.state.startswith("refused"):
                self.state = f"disconnected: {reason_code}"
            if was_connected:
                log.warning("MQTT connection lost (%s); reconnecting", reason_code)

    # --- the publisher's thread ------------------------------------------------------------

    def _seed(self) -> None:
        """The current values, so a publisher started mid-workout has every state."""
        state = self.bus.latest("state")
        self._set_state(self.topics.exercise, "none")
        self._set_state(self.topics.set_reps, "0")
        if state is not None:
            self._handle(state)
        self._refresh_today()
        health = self.bus.latest("health")
        if health is not None:
            self._handle(health)

    def _run(self) -> None:
        while not self._stop.is_set():
            event = self._subscription.get(0.5)
            if event is not None:
                try:
                    self._handle(event)
                except Exception:  # an event of a shape not foreseen: skip it, keep publishing
                    log.exception("MQTT: cannot translate %s event %s", event.kind, event.payload)
            today = datetime.now().date()
            if today != self._day:
                self._day = today
                self._refresh_today()
            if self._connected.is_set():
                self._flush()

    def _handle(self, event: Event) -> None:
        data = event.data
        if event.kind == "state":
            self._set_state(self.topics.exercise, data.get("exercise") or "none")
            self._set_state(self.topics.set_reps, str((data.get("set") or {}).get("reps", 0)))
        elif event.kind == "rep":
            self._set_state(self.topics.set_reps, str(data["set"]["reps"]))
            self._set_state(self.topics.exercise, data["exercise"])
            self._refresh_today()
        elif event.kind == "set" and data.get("event") == "end":
            last = {
                "reps": data["reps"],
                "partial_reps": data["partial_reps"],
                "exercise": data["exercise"],
                "set_id": data["set_id"],
                "person": self._people.get(str(data.get("person_id"))),
                "ended_at": datetime.now().astimezone().isoformat(timespec="seconds"),
            }
            self._set_state(self.topics.last_set, _dumps(last))
            self._set_state(self.topics.set_reps, "0")
            if len(self._pending) == self._pending.maxlen:
                self.pending_dropped += 1
            self._pending.append(_dumps({"event_type": SET_EVENT_TYPE, **last}))
            self._refresh_today()
        elif event.kind == "person":  # a profile changed: names, new people
            self._refresh_today()
        elif event.kind == "health":
            summary = _health_summary(data)
            steady = {key: value for key, value in summary.items() if key != "fps"}
            now = time.monotonic()
            sent = self._health_sent
            if sent is None or sent[0] != steady or now - sent[1] >= HEALTH_EVERY_S:
                self._health_sent = (steady, now)
                self._set_state(self.topics.health, _dumps(summary))

    def _refresh_today(self) -> None:
        try:
            counts = self._today()
        except Exception:
            log.exception("cannot read today's reps for MQTT")
            return
        people = counts.pop("people", {})
        self._set_state(self.topics.today, _dumps(counts))
        for person_id, person in people.items():
            topic, config = person_discovery(
                self.topics, self.device, self.version, person_id, person["name"]
            )
            self._set_state(topic, _dumps(config))
            self._set_state(self.topics.person_today(person_id), _dumps(person))
        for gone in set(self._people) - set(people):  # an empty retained config removes it
            self._set_state(self.topics.person_config(gone), "")
        self._people = {person_id: person["name"] for person_id, person in people.items()}

    def _set_state(self, topic: str, payload: str) -> None:
        if self._retained.get(topic) != payload:
            self._retained[topic] = payload
            self._dirty.add(topic)

    def _flush(self) -> None:
        """Send what changed; after a (re)connect, everything: the broker may have lost it.

        Retained messages go with qos 0: one lost with a dropped connection is sent again
        after the next connect anyway. Set events are sent once, so with qos 1.
        """
        if self._resync:
            self._resync = False
            for topic, config in self._configs.items():
                if not self._send(topic, _dumps(config), qos=0, retain=True):
                    return  # disconnected: the next connect sends everything again
            if not self._send(self.topics.availability, ONLINE, qos=0, retain=True):
                return
            self._dirty = set(self._retained)
        for topic in sorted(self._dirty):
            if not self._send(topic, self._retained[topic], qos=0, retain=True):
                return
            self._dirty.discard(topic)
        while self._pending:
            if not self._send(self.topics.set_event, self._pending[0], qos=1, retain=False):
                return
            self._pending.popleft()

    def _send(self, topic: str, payload: str, qos: int, retain: bool) -> bool:
        """Whether paho took the message. It keeps a qos 1 message until the broker acks it,
        across reconnects (at most `pending_sets` of them); a qos 0 one only when connected."""
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc == paho.MQTT_ERR_SUCCESS or (qos and info.rc == paho.MQTT_ERR_NO_CONN):
            self.published += 1
            return True
        return False
