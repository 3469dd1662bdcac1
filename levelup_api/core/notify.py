"""Changes pushed by PostgreSQL instead of polled per request: one thread per server process LISTENs
on its own connection to the primary (NOTIFY reaches no standby) and calls the handlers registered
for each channel (levelup_api.core.caching: the data version; levelup_api.core.quotas: API keys).

The thread starts lazily, on the first call of `listening()` in a process, so it lives in each
gunicorn worker and not in a master that forks; a process that finds itself forked starts its own.
It reconnects after any failure, with a growing pause; while it is not connected `listening()` is
False and callers fall back to reading the database themselves. Off with
LEVELUP["DATA_VERSION_LISTEN"] = False (the test settings: tests run inside transactions, whose
notifications are never delivered; the tests of this module turn it on)."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

import psycopg
from django.conf import settings
from django.db import connections

log = logging.getLogger(__name__)

# A handler gets the payload, or None right after (re)connecting: notifications sent while the
# thread was not listening are lost, so it must re-read whatever it keeps. It runs in the listener
# thread with the listener's connection (autocommit), and must not raise for long.
Handler = Callable[[str | None, psycopg.Connection], None]
_handlers: dict[str, list[Handler]] = {}

# How long one wait for notifications lasts (the stop flag is checked between waits), how often an
# idle connection is checked with a statement (with TCP keepalives, a connection lost without a
# word is noticed within about 20 s), and the longest pause between attempts to reconnect.
WAIT_SECONDS = 1.0
CHECK_SECONDS = 10.0
MAX_PAUSE_SECONDS = 10.0


def subscribe(channel: str, handler: Handler) -> None:
    """Call `handler` for every notification on `channel` (a constant identifier) in this process."""
    _handlers.setdefault(channel, [])
    if handler not in _handlers[channel]:
        _handlers[channel].append(handler)


class Listener(threading.Thread):
    def __init__(self) -> None:
        super().__init__(name="levelup-listen", daemon=True)
        self.connected = threading.Event()
        self.stopping = threading.Event()
        self.received = 0  # notifications handled, for tests and the curious
        self.backend_pid: int | None = None  # the listening session on the primary

    def _connect(self) -> psycopg.Connection:
        params = connections["default"].get_connection_params()
        for key in ("cursor_factory", "context", "prepare_threshold"):
            params.pop(key, None)
        params.setdefault("connect_timeout", 5)
        params.update(application_name="levelup-listen", keepalives=1, keepalives_idle=10, keepalives_interval=5,
                      keepalives_count=2)
        return psycopg.connect(**params, autocommit=True)

    def run(self) -> None:
        pause, failing = 0.5, False
        while not self.stopping.is_set():
            try:
                with self._connect() as conn:
                    self.backend_pid = conn.info.backend_pid
                    for channel in _handlers:
                        conn.execute(f"LISTEN {channel}")  # noqa: S608 - channels are constants of this code
                    for handlers in _handlers.values():
                        for handler in handlers:
                            handler(None, conn)
                    self.connected.set()
                    if failing:
                        log.warning("listening for pushed changes again on the primary")
                    pause, failing = 0.5, False
                    self._listen(conn)
            except Exception as exc:  # noqa: BLE001 - whatever failed, the thread must live on and retry
                self.connected.clear()
                if not isinstance(exc, (psycopg.Error, OSError)):
                    log.exception("pushed changes: a handler failed")
                elif not failing:
                    log.warning("not listening for pushed changes (%s: %s); polling the database until reconnected",
                                type(exc).__name__, (str(exc).splitlines() or [""])[0])
                failing = True
            finally:
                self.connected.clear()
            self.stopping.wait(pause)
            pause = min(pause * 2, MAX_PAUSE_SECONDS)

    def _listen(self, conn: psycopg.Connection) -> None:
        idle = 0.0
        while not self.stopping.is_set():
            pending: dict[str, list[str]] = {}
            for note in conn.notifies(timeout=WAIT_SECONDS, stop_after=1):
                pending.setdefault(note.channel, []).append(note.payload)
            if pending:
                # A load or a burst of edits sends many: take what else has arrived, then act once.
                for note in conn.notifies(timeout=0.05):
                    pending.setdefault(note.channel, []).append(note.payload)
                idle = 0.0
                self._dispatch(pending, conn)
                continue
            idle += WAIT_SECONDS
            if idle >= CHECK_SECONDS:
                conn.execute("SELECT 1")
                idle = 0.0

    def _dispatch(self, pending: dict[str, list[str]], conn: psycopg.Connection) -> None:
        for channel, payloads in pending.items():
            for handler in _handlers.get(channel, ()):
                for payload in dict.fromkeys(payloads):  # each distinct payload once, in order
                    handler(payload, conn)
            self.received += len(payloads)


_lock = threading.Lock()
_listener: Listener | None = None
_listener_pid: int | None = None


def listener() -> Listener | None:
    """This process's listener, started if it is not running; None when listening is switched off."""
    global _listener, _listener_pid
    if not settings.LEVELUP["DATA_VERSION_LISTEN"]:
        return None
    if _listener_pid == os.getpid() and _listener is not None and _listener.is_alive():
        return _listener
    with _lock:
        if _listener_pid != os.getpid() or _listener is None or not _listener.is_alive():
            # After a fork the parent's thread is not running here; its connection belongs to the
            # parent and is left alone.
            _listener, _listener_pid = Listener(), os.getpid()
            _listener.start()
    return _listener


def listening() -> bool:
    """Whether pushed changes are being received in this process right now (starting the listener
    if need be): when False, read from the database instead."""
    running = listener()
    return running is not None and running.connected.is_set()


def listener_stop(timeout: float = 5.0) -> None:
    """Stop this process's listener and close its connection (tests; a process about to exit need not)."""
    global _listener, _listener_pid
    with _lock:
        running, _listener, _listener_pid = _listener, None, None
    if running is not None:
        running.stopping.set()
        running.join(timeout)
