"""The in-process event bus: topics are event classes, delivery is synchronous and ordered.

A handler subscribed to a class receives instances of its subclasses too. An event
published from inside a handler is queued and delivered after the current one, so every
handler sees events in publication order. A failing handler is logged and reported (as a
``HandlerFailed`` event and to ``on_error``); it never stops delivery to the others.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

from quant_agent.core.clock import Clock
from quant_agent.core.events import HandlerFailed

E = TypeVar("E")
Handler = Callable[[Any], None]
ErrorHook = Callable[[object, Handler, BaseException], None]

log = logging.getLogger(__name__)


def _name(handler: Handler) -> str:
    return getattr(handler, "__qualname__", None) or repr(handler)


class EventBus:
    """Publish events to the handlers subscribed to their class or a base class."""

    def __init__(self, clock: Clock, on_error: ErrorHook | None = None) -> None:
        self._clock = clock
        self._on_error = on_error
        self._handlers: dict[type, list[Handler]] = {}
        self._queue: deque[object] = deque()
        self._dispatching = False

    def subscribe(self, event_type: type[E], handler: Callable[[E], None]) -> None:
        """Deliver every published ``event_type`` (or subclass) to ``handler``, once."""
        handlers = self._handlers.setdefault(event_type, [])
        if handler not in handlers:
            handlers.append(handler)

    def unsubscribe(self, event_type: type[E], handler: Callable[[E], None]) -> None:
        handlers = self._handlers.get(event_type, [])
        if handler in handlers:
            handlers.remove(handler)

    def publish(self, event: object) -> None:
        """Deliver ``event`` now, or after the event being delivered if called by a handler."""
        self._queue.append(event)
        if self._dispatching:
            return
        self._dispatching = True
        try:
            while self._queue:
                self._dispatch(self._queue.popleft())
        finally:
            self._dispatching = False

    def _dispatch(self, event: object) -> None:
        for handler in self._handlers_for(type(event)):
            try:
                handler(event)
            except Exception as exc:  # noqa: BLE001 - the bus must outlive any handler
                self._report(event, handler, exc)

    def _handlers_for(self, event_type: type) -> list[Handler]:
        seen: list[Handler] = []
        for klass in event_type.__mro__:
            for handler in self._handlers.get(klass, ()):
                if handler not in seen:
                    seen.append(handler)
        return seen

    def _report(self, event: object, handler: Handler, exc: BaseException) -> None:
        log.error("bus handler %s failed on %s", _name(handler), type(event).__name__, exc_info=exc)
        if self._on_error is not None:
            try:
                self._on_error(event, handler, exc)
            except Exception:  # noqa: BLE001
                log.exception("bus error hook failed")
        if not isinstance(event, HandlerFailed):
            now = self._clock.now()
            self._queue.append(
                HandlerFailed(
                    ts_event=now,
                    ts_init=now,
                    handler=_name(handler),
                    event_type=type(event).__name__,
                    error=f"{type(exc).__name__}: {exc}",
                )
            )
