"""The gateway's recorder: what decides each message, and where it runs beside the network loop.

`Recorder` decodes and checks the messages of a batch and hands them to the gateway's handlers
(the reports in one call, the `get`s in another), deciding one `Outcome` per message: the gateway
acknowledges by it. It holds no connection to the broker, so it can run anywhere:

- `RecorderThread`: in a thread of the gateway's process. The handlers may be any callables (the
  unit and integration tests hand in-memory ones); recording shares one core with paho's reading
  (Python's GIL), which is fine at a test's rates.
- `RecorderProcess`: in a process of its own, which `manage.py device_gateway` uses. paho's
  reading and acknowledging stay in the network process, decoding and recording run on another
  core: one gateway instance drains close to what a bare subscriber does (measured in
  `bench/device_sync.py`). The `Recorder` itself is sent (pickled) to a fresh interpreter
  (`spawn`, so no database connection, socket or thread of the network process is shared): its
  handlers, and the process's `setup` (e.g. `django.setup`), must be importable by name. The
  process ignores SIGINT and SIGTERM: it stops when the gateway tells it to (after the last
  batch), or when it finds the gateway gone. If it dies, the batches it held are reported failed
  (never acknowledged: the broker delivers them again) and a new one is started; a message it
  dies on at each delivery is given up after MAX_DELIVERIES, as one whose handler keeps failing.

Both are handed the gateway's one `Recorder`, take batches tagged with their connection's
generation and give them back in order; after a batch of a connection fails, the next batches of
that connection are not handled (the gateway leaves that connection and everything
unacknowledged comes again).
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import logging
import multiprocessing
import pickle
import queue
import signal
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from . import protocol

logger = logging.getLogger("smarthome.sync.gateway")

HANDLER_ATTEMPTS = 3
HANDLER_RETRY_SECONDS = 0.5
# A message whose handler keeps failing through this many deliveries (or that the recorder
# process dies on each time) is logged and dropped: one poisoned report must not stop every
# other hub's (the hub reports again on its next change).
MAX_DELIVERIES = 5
# How long a recorder process may take to start (import Django, set up), and how often the
# network loop looks whether it is still alive while a batch is outstanding.
PROCESS_START_SECONDS = 120.0
PROCESS_CHECK_SECONDS = 0.5

# (*, reports: list[tuple[channel id, protocol.Reported]]) -> one outcome per report, in order,
# each with `rejected` (ReportOutcome)
ReportsHandler = Callable[..., Sequence[Any]]
ResendsHandler = Callable[..., Any]  # (*, channel_ids: list[str]) -> None


class Outcome(enum.StrEnum):
    HANDLED = "handled"
    REFUSED = "refused"  # well-formed, but naming another hub than its topic's
    MALFORMED = "malformed"
    FAILED = "failed"  # the handler kept failing: not acknowledged, delivered again
    DEFERRED = "deferred"  # received behind a failed message: not handled, delivered again
    GAVE_UP = "gave_up"  # failed through MAX_DELIVERIES deliveries: logged and dropped


UNSETTLED = (None, Outcome.FAILED, Outcome.DEFERRED)


@dataclass
class Received:
    """A message taken from the broker, waiting for its batch; `outcome` once decided."""

    topic: str
    payload: bytes
    mid: int = 0
    qos: int = 1
    at: float = 0.0
    kind: str = ""
    channel_id: str = ""
    report: protocol.Reported | None = None
    outcome: Outcome | None = None


class Recorder:
    """Decide the messages of a batch: malformed and forged ones at once, the rest by the handlers."""

    def __init__(
        self,
        *,
        prefix: str,
        on_reports: ReportsHandler,
        on_gets: ResendsHandler,
        handler_attempts: int = HANDLER_ATTEMPTS,
        handler_retry_seconds: float = HANDLER_RETRY_SECONDS,
    ) -> None:
        self.prefix = prefix
        self.on_reports = on_reports
        self.on_gets = on_gets
        self.handler_attempts = handler_attempts
        self.handler_retry_seconds = handler_retry_seconds
        self._failures: Counter[str] = Counter()  # deliveries that failed, by message digest

    def messages_handle(self, messages: list[Received]) -> list[Outcome]:
        """Decode and check each message, hand the reports to the report handler in one batch and
        the `get`s to theirs in one call; one outcome per message, in order."""
        for message in messages:
            self._check(message)
        reports = [m for m in messages if m.outcome is None and m.kind == "reported"]
        if len(reports) < 2 or not self._batch_handle(
            reports, lambda: self.on_reports(reports=[(m.channel_id, m.report) for m in reports])
        ):
            self._one_at_a_time(reports, lambda m: self.on_reports(reports=[(m.channel_id, m.report)])[0])
        gets = [m for m in messages if m.outcome is None and m.kind == "get"]
        if len(gets) < 2 or not self._batch_handle(gets, lambda: self._gets_handle(gets)):
            self._one_at_a_time(gets, lambda m: self.on_gets(channel_ids=[m.channel_id]))
        return [m.outcome or Outcome.DEFERRED for m in messages]

    def _check(self, message: Received) -> None:
        """Decode the message; decide it at once when it is malformed or names another hub than its topic's."""
        try:
            channel_id, kind = protocol.topic_parse(prefix=self.prefix, name=message.topic)
            if kind == "reported":
                message.report = protocol.reported_decode(message.payload)
                hub = message.report.hub
            elif kind == "get":
                hub = protocol.get_decode(message.payload)
            else:
                raise protocol.ProtocolError("the gateway does not take desired messages")
        except protocol.ProtocolError as exc:
            logger.warning("device gateway: dropped a malformed message on %s: %s", message.topic, exc)
            message.outcome = Outcome.MALFORMED
            return
        message.channel_id, message.kind = channel_id, kind
        if hub != channel_id:
            logger.warning("device gateway: refused a %s message on channel %s naming hub %s", kind, channel_id, hub)
            message.outcome = Outcome.REFUSED

    def _gets_handle(self, gets: list[Received]) -> list[None]:
        self.on_gets(channel_ids=[m.channel_id for m in gets])
        return [None] * len(gets)

    def _batch_handle(self, messages: list[Received], handle: Callable[[], Sequence[Any]]) -> bool:
        """Hand the messages to their handler in one call (`handle`: one result per message);
        False (nothing decided) when it failed."""
        try:
            results = handle()
        except Exception:  # handled again one at a time: a poisoned message must fail alone
            logger.warning(
                "device gateway: a batch of %s %s messages failed, handling them one at a time",
                len(messages),
                messages[0].kind,
                exc_info=True,
            )
            return False
        for message, result in zip(messages, results, strict=True):
            message.outcome = self._result_outcome(message, result)
        return True

    def _one_at_a_time(self, messages: list[Received], handle: Callable[[Received], Any]) -> None:
        """Each message through `handle` with retries; the ones after a message that keeps failing wait."""
        for index, message in enumerate(messages):
            message.outcome = self._call(handle, message)
            if message.outcome is Outcome.FAILED:
                for later in messages[index + 1 :]:
                    later.outcome = Outcome.DEFERRED
                return

    def _call(self, handle: Callable[[Received], Any], message: Received) -> Outcome:
        for attempt in range(1, self.handler_attempts + 1):
            try:
                result = handle(message)
            except Exception:  # the handler's failure must not lose the message: retried, then redelivered
                logger.exception("device gateway: handler failed on %s (attempt %s)", message.topic, attempt)
                if attempt < self.handler_attempts:
                    time.sleep(self.handler_retry_seconds * attempt)
            else:
                return self._result_outcome(message, result)
        digest = self._digest(message.topic, message.payload)
        self._failures[digest] += 1
        if self._failures[digest] >= MAX_DELIVERIES:
            del self._failures[digest]
            logger.error(
                "device gateway: gave up on a message on %s after %s deliveries", message.topic, MAX_DELIVERIES
            )
            return Outcome.GAVE_UP
        return Outcome.FAILED

    def _result_outcome(self, message: Received, result: Any) -> Outcome:
        if self._failures:  # a redelivered message that now went through
            self._failures.pop(self._digest(message.topic, message.payload), None)
        if getattr(result, "rejected", False) is True:
            logger.warning("device gateway: our records refused the report on %s", message.topic)
            return Outcome.REFUSED
        return Outcome.HANDLED

    @staticmethod
    def _digest(topic: str, payload: bytes) -> str:
        return hashlib.sha256(topic.encode() + b"\0" + payload).hexdigest()


Batch = tuple[int, list[Received]]  # (the connection's generation, its messages)


def batches_record(recorder: Recorder, take: Callable[[], Batch | None], give: Callable[[Batch], None]) -> None:
    """Record the batches `take` gives until it gives None, each given back with its outcomes.
    After a batch that did not go through, the next ones of its generation are given back unhandled."""
    failed_generation = -1
    while (item := take()) is not None:
        generation, batch = item
        if generation != failed_generation:
            try:
                recorder.messages_handle(batch)
            except Exception:  # a defect, not a handler's failure: nothing acknowledged, redelivered
                logger.exception("device gateway: a batch of %s messages could not be handled", len(batch))
                for message in batch:
                    message.outcome = Outcome.FAILED
        if any(message.outcome in UNSETTLED for message in batch):
            failed_generation = generation
        give((generation, batch))


class RecorderThread:
    """The recorder in a thread of the gateway's process."""

    def __init__(self, recorder: Recorder, *, name: str) -> None:
        self.recorder = recorder
        self.name = name
        self._todo: queue.SimpleQueue[Batch | None] = queue.SimpleQueue()
        self._done: queue.SimpleQueue[Batch] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=batches_record, args=(self.recorder, self._todo.get, self._done.put), name=self.name, daemon=True
        )
        self._thread.start()

    def submit(self, generation: int, batch: list[Received]) -> None:
        self._todo.put((generation, batch))

    def finished(self, timeout: float | None) -> Batch | None:
        """The oldest batch given back, waiting up to `timeout` (0: not at all, None: for ever)."""
        try:
            return self._done.get(timeout=timeout) if timeout != 0 else self._done.get_nowait()
        except queue.Empty:
            return None

    def stop(self) -> None:
        if self._thread is not None:
            self._todo.put(None)
            self._thread.join()
            self._thread = None


_READY = "ready"


def _process_main(todo, done, setup: Callable[[], None] | None, recorder: Recorder) -> None:
    """The recorder process: messages come as (topic, payload) pairs, outcomes go back as their values."""
    # The gateway stops us (after its last batch); Ctrl+C or a service manager's SIGTERM reach
    # the whole process group, and must not cut a batch's transaction short.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if setup is not None:
        setup()
    done.send(_READY)
    parent = multiprocessing.parent_process()

    def take() -> Batch | None:
        while True:
            try:
                item = todo.get(timeout=1.0)
            except queue.Empty:
                if parent is not None and not parent.is_alive():
                    return None  # the gateway was killed: what we recorded is delivered to the next one
                continue
            if item is None:
                return None
            generation, pairs = item
            return generation, [Received(topic=topic, payload=payload) for topic, payload in pairs]

    def give(item: Batch) -> None:
        # Sent before the next batch is taken (a pipe, no feeder thread): if we die on the next
        # one, the gateway knows this one was done and which one we held.
        generation, batch = item
        done.send((generation, [(message.outcome or Outcome.DEFERRED).value for message in batch]))

    with contextlib.suppress(BrokenPipeError):  # the gateway is gone: what we recorded goes to the next one
        batches_record(recorder, take, give)


@dataclass
class _Submitted:
    """A batch of the gateway's, waiting for the outcomes of its `parts` sent to the process."""

    generation: int
    batch: list[Received]
    parts: int


class RecorderProcess:
    """The recorder in a process of its own (see the module's docstring).

    A process that dies (a segfault, `os._exit`, the OOM killer) takes the `Recorder`'s count of
    failed deliveries with it, so this side counts, by message, the deaths with the message in
    hand: a batch is sent whole, but a message the process died holding is sent alone from then
    on, and at the MAX_DELIVERIES-th death with it (alone) in hand it is given back GAVE_UP
    (logged, then acknowledged and dropped), as the `Recorder` gives up on a handler that keeps
    failing. The one in hand is the oldest part not given back: the process takes them in order
    and gives each back before taking the next."""

    def __init__(self, recorder: Recorder, *, name: str, setup: Callable[[], None] | None) -> None:
        self.recorder = recorder  # sent to each process started (a copy: the process records with its own)
        self.name = name
        self.setup = setup
        self._context = multiprocessing.get_context("spawn")
        self._process: Any = None
        self._todo: Any = None
        self._done: Any = None
        self._pending: deque[_Submitted] = deque()  # submitted, in order, waiting for their outcomes
        self._sent: deque[list[Received]] = deque()  # their parts, as sent to the process, in order
        self._given: deque[Batch] = deque()  # settled when the process died: to be given back, in order
        self._deaths: Counter[str] = Counter()  # by message digest: the process died with it in hand
        self._next_check = 0.0

    def start(self) -> None:
        """Start the process and wait until it is ready (its handlers imported, `setup` done)."""
        self._todo = self._context.Queue()
        self._done, writer = self._context.Pipe(duplex=False)
        self._process = self._context.Process(
            target=_process_main, args=(self._todo, writer, self.setup, self.recorder), name=self.name, daemon=True
        )
        try:
            self._process.start()  # the recorder is pickled for the new interpreter, its handlers by name
        except (AttributeError, TypeError, pickle.PicklingError) as exc:
            raise TypeError(
                "a recorder process takes handlers and a setup importable by name (module-level "
                f"functions), not closures or bound methods: {exc}"
            ) from exc
        finally:
            writer.close()  # the process holds the only writer: its death reads as the pipe's end
        deadline = time.monotonic() + PROCESS_START_SECONDS
        while time.monotonic() < deadline:
            try:
                if self._done.poll(0.2) and self._done.recv() == _READY:
                    logger.info("device gateway: recorder process %s started", self._process.pid)
                    return
            except (EOFError, OSError):
                break
            if not self._process.is_alive():
                break
        self._process.join(1)
        exitcode = self._process.exitcode
        self._process.kill()
        raise RuntimeError(f"the gateway's recorder process did not start (exit code {exitcode})")

    def submit(self, generation: int, batch: list[Received]) -> None:
        parts = self._parts(batch)
        self._pending.append(_Submitted(generation, batch, len(parts)))
        for part in parts:
            self._sent.append(part)
            self._todo.put((generation, [(message.topic, message.payload) for message in part]))

    def _parts(self, batch: list[Received]) -> list[list[Received]]:
        """The batch as sent to the process: whole, but each message it died holding alone, so a
        death that comes again is that message's."""
        if not self._deaths:
            return [batch]
        parts: list[list[Received]] = [[]]
        for message in batch:
            if Recorder._digest(message.topic, message.payload) in self._deaths:
                parts.extend(([message], []))
            else:
                parts[-1].append(message)
        return [part for part in parts if part] or [batch]

    def finished(self, timeout: float | None) -> Batch | None:
        """The oldest batch with its outcomes, waiting up to `timeout` (0: not at all, None: for ever)."""
        if self._given:
            return self._given.popleft()
        if not self._pending:
            return None
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = PROCESS_CHECK_SECONDS if deadline is None else deadline - time.monotonic()
            try:
                item = self._done.recv() if self._done.poll(max(0.0, min(left, PROCESS_CHECK_SECONDS))) else None
            except (EOFError, OSError):  # the process's end of the pipe closed: it is gone
                self._died()
                return self._given.popleft()
            if item is not None:
                if (finished := self._part_done(item)) is not None:
                    return finished
                continue
            if time.monotonic() >= self._next_check:
                self._next_check = time.monotonic() + PROCESS_CHECK_SECONDS
                if not self._process.is_alive():
                    self._died()
                    return self._given.popleft()
            if deadline is not None and time.monotonic() >= deadline:
                return None

    def _part_done(self, item: tuple[int, list[str]]) -> Batch | None:
        """Set the outcomes of the oldest part sent; its batch once all its parts are back."""
        part = self._sent.popleft()
        for message, outcome in zip(part, item[1], strict=True):
            message.outcome = Outcome(outcome)
            if self._deaths and message.outcome not in UNSETTLED:  # it went through this time
                self._deaths.pop(Recorder._digest(message.topic, message.payload), None)
        submitted = self._pending[0]
        submitted.parts -= 1
        if submitted.parts:
            return None
        self._pending.popleft()
        return submitted.generation, submitted.batch

    def _died(self) -> None:
        """The process is gone: the batches it held failed (never acknowledged, so delivered again),
        given back in order by `finished`, but the message it died holding alone for the
        MAX_DELIVERIES-th time is given up; a new process takes over."""
        self._process.join(1)
        if self._process.is_alive():  # its pipe closed, yet not gone: it must not record beside the next one
            self._process.kill()
            self._process.join()
        self._drain()
        logger.error(
            "device gateway: the recorder process died (exit code %s) holding %s batches; starting a new one",
            self._process.exitcode,
            len(self._pending),
        )
        for part in self._sent:
            for message in part:
                message.outcome = Outcome.FAILED
        in_hand = self._sent[0] if self._sent else []
        for message in in_hand:
            digest = Recorder._digest(message.topic, message.payload)
            self._deaths[digest] += 1
            if len(in_hand) == 1 and self._deaths[digest] >= MAX_DELIVERIES:
                del self._deaths[digest]
                logger.error(
                    "device gateway: gave up on a message on %s after %s deliveries (the recorder died on each)",
                    message.topic,
                    MAX_DELIVERIES,
                )
                message.outcome = Outcome.GAVE_UP
        self._given.extend((submitted.generation, submitted.batch) for submitted in self._pending)
        self._pending.clear()
        self._sent.clear()
        self._done.close()
        self.start()

    def _drain(self) -> None:
        """Take what the process gave back before it died (still in the pipe)."""
        while self._sent:
            try:
                if not self._done.poll(0):
                    return
                item = self._done.recv()
            except (EOFError, OSError):
                return
            if (finished := self._part_done(item)) is not None:
                self._given.append(finished)

    def stop(self) -> None:
        if self._process is None:
            return
        self._todo.put(None)
        self._process.join(30)
        if self._process.is_alive():
            logger.error("device gateway: the recorder process did not stop, killing it")
            self._process.kill()
            self._process.join()
        self._todo.close()
        self._done.close()
        self._process = None
