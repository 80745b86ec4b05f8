"""Run-time failover between the Edge TPU and the CPU: the Coral can be unplugged mid-set.

FailoverModel runs the Edge TPU model on a thread of its own so that a call that fails or hangs
(an unplugged Coral may do either) costs one frame at most INVOKE_TIMEOUT_S late: that frame and
all later ones run on the CPU build, which was opened beforehand. Because every frame still gets
its keypoints, the exercise tracker sees no gap longer than that and no rep is lost. The Edge
TPU is then reopened in the background with doubling delays (1 s up to 60 s), only while a
Coral is to be seen, and takes over again once it has answered a warm-up run.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from device.capture.runner import Backoff
from device.pose.edgetpu import coral_devices, install_hint
from device.pose.runtime import Backend, Fallback, PoseModel, with_fallback

log = logging.getLogger(__name__)

# A MoveNet run on the Edge TPU takes 5-30 ms; a call this late is a hung device. Short enough
# that the frame gap stays under the exercise engine's max_gap_s (1 s), so a rep survives it.
INVOKE_TIMEOUT_S = 0.5
WARMUP_TIMEOUT_S = 15.0  # the first run uploads the model to the Edge TPU
RETRY_FIRST_S, RETRY_LIMIT_S = 1.0, 60.0


class _Worker:
    """One thread that makes the calls of one model, so a hung call can be walked away from."""

    def __init__(self, model: PoseModel) -> None:
        self.model = model
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        threading.Thread(target=self._run, name="edgetpu", daemon=True).start()

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            image, done, answer = job
            try:
                answer.append(self.model(image))
            except Exception as exc:
                answer.append(exc)
            done.set()

    def call(self, image: np.ndarray, timeout: float) -> np.ndarray:
        done, answer = threading.Event(), []
        self._jobs.put((image, done, answer))
        if not done.wait(timeout):
            raise TimeoutError(f"no answer within {timeout:g} s")
        if isinstance(answer[0], Exception):
            raise answer[0]
        return answer[0]

    def close(self) -> None:
        """Ends the thread after its current call (which may never return: it is a daemon)."""
        self._jobs.put(None)


class FailoverModel:
    """The Edge TPU model with the CPU build standing by; callable like a PoseModel."""

    def __init__(
        self,
        cpu: PoseModel,
        reopen: Callable[[], PoseModel] | None,
        edgetpu: PoseModel | None = None,
        devices: Callable[[], list[str] | None] = coral_devices,
        invoke_timeout: float = INVOKE_TIMEOUT_S,
        backoff: Backoff | None = None,
    ) -> None:
        self._cpu = cpu
        self._reopen = reopen
        self._devices = devices
        self._timeout = invoke_timeout
        self._backoff = backoff or Backoff(RETRY_FIRST_S, RETRY_LIMIT_S)
        self._worker: _Worker | None = None
        self._ready: _Worker | None = None  # reopened in the background, waiting to take over
        self._attempt: threading.Thread | None = None
        self._retry_at = time.monotonic() + self._backoff.next()
        self.input_size = cpu.input_size
        if edgetpu is not None:
            try:
                self._worker = self._warm(edgetpu)
            except Exception as exc:
                self._lost(exc)

    @property
    def backend(self) -> Backend:
        return (self._worker.model if self._worker else self._cpu).backend

    def __call__(self, image: np.ndarray) -> np.ndarray:
        if self._ready is not None:
            self._worker, self._ready = self._ready, None
            self._cpu = with_fallback(self._cpu, None)
            self._backoff.reset()
            log.info("the Edge TPU is back: pose runs on it again")
        if self._worker is not None:
            try:
                return self._worker.call(image, self._timeout)
            except Exception as exc:
                self._lost(exc)
        self._retry()
        return self._cpu(image)

    def close(self) -> None:
        """End the Edge TPU threads and stop reopening: the Coral is free for another model."""
        self._reopen = None
        for worker in (self._worker, self._ready):
            if worker is not None:
                worker.close()
        self._worker = self._ready = None

    def _warm(self, model: PoseModel) -> _Worker:
        if model.input_size != self.input_size:
            raise ValueError(f"input {model.input_size} px, the CPU build's is {self.input_size}")
        worker = _Worker(model)
        try:
            worker.call(np.zeros((self.input_size,) * 2 + (3,), np.uint8), WARMUP_TIMEOUT_S)
        except Exception:
            worker.close()
            raise
        return worker

    def _lost(self, exc: Exception) -> None:
        if self._worker is not None:
            self._worker.close()
            self._worker = None
        why = " ".join(str(exc).split()) or type(exc).__name__
        fallback = Fallback(
            f"the Edge TPU failed ({why}): pose runs on the CPU until it answers again",
            "check the Coral's cable and port (`dmesg` shows USB errors); the Edge TPU is tried "
            "again by itself",
        )
        self._cpu = with_fallback(self._cpu, fallback)
        self._retry_at = time.monotonic() + self._backoff.next()
        log.warning("%s. Fix: %s", fallback.reason, fallback.fix)

    def _retry(self) -> None:
        """Reopen the Edge TPU in the background when it is time and a Coral is to be seen."""
        now = time.monotonic()
        if self._reopen is None or now < self._retry_at:
            return
        if self._attempt is not None and self._attempt.is_alive():
            return
        self._retry_at = now + self._backoff.next()
        if not self._devices():  # no Coral to be seen (or no sysfs to look in): wait
            return
        self._attempt = threading.Thread(target=self._try_reopen, name="reopen", daemon=True)
        self._attempt.start()

    def _try_reopen(self) -> None:
        try:
            self._ready = self._warm(self._reopen())
        except Exception as exc:
            verdict = getattr(exc, "verdict", None)
            if verdict is not None and verdict.lasting:  # the probe now crashes or disagrees
                self._reopen = None
                self._cpu = with_fallback(self._cpu, verdict.fallback())
                log.warning("the Edge TPU is not tried again: %s. Fix: %s", verdict.reason,
                            verdict.fix)  # fmt: skip
            else:
                log.info("the Edge TPU is still unavailable: %s (%s)", exc, install_hint())
