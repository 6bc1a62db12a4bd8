"""A progress line for long runs on a terminal (``ai-roi digest``): redrawn in place, ended
with a newline when the run is done. Callers show it only when the stream is a TTY."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

WIDTH = 30
REDRAW_SECONDS = 0.1  # at most ten redraws a second, however fast the items go


def tty_progress(
    stream: TextIO, noun: str, *, clock: Callable[[], float] = time.monotonic
) -> Callable[[int, int], None]:
    """``update(done, total)`` draws ``[#####.....] done/total noun``."""
    last = float("-inf")

    def update(done: int, total: int) -> None:
        nonlocal last
        finished = done >= total
        now = clock()
        if not finished and now - last < REDRAW_SECONDS:
            return
        last = now
        filled = WIDTH * done // total if total else WIDTH
        stream.write(f"\r[{'#' * filled}{'.' * (WIDTH - filled)}] {done:,}/{total:,} {noun}")
        if finished:
            stream.write("\n")
        stream.flush()

    return update
