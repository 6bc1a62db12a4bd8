"""Pause the cycle collector while a large body becomes objects.

A large body becomes hundreds of thousands of new objects (its JSON tree, then the events),
none of them in a reference cycle. The cycle collector would traverse them again and again as
they pile up (a third of the parse time of a bulk import), so it waits until they are built.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

PAUSE_GC_BYTES = 1024 * 1024

_pauses = 0
_pauses_lock = threading.Lock()
_was_enabled = True


def gc_paused_for(body: bytes) -> AbstractContextManager[None]:
    """``gc_paused()`` for a body of at least ``PAUSE_GC_BYTES``, nothing for a smaller one."""
    return gc_paused() if len(body) >= PAUSE_GC_BYTES else nullcontext()


@contextmanager
def gc_paused() -> Iterator[None]:
    """No automatic cycle collection while any thread is inside; restored as it was after."""
    global _pauses, _was_enabled
    with _pauses_lock:
        if _pauses == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pauses_lock:
            _pauses -= 1
            if _pauses == 0 and _was_enabled:
                gc.enable()
