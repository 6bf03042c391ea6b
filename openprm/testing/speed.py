"""Guards against a slow path (a body read token by token in Python instead of in C) that hold on a
loaded machine: the bound is measured in the same run, as a multiple of a C-speed pass over the same
bytes, never a fixed number of seconds alone."""

from __future__ import annotations

import contextlib
import json
import time


def c_speed_bound(body: bytes, *, times: float = 6.0, floor: float = 4.0) -> float:
    """CPU seconds a handler may spend on ``body``: ``times`` a ``json.loads`` of it (a C-speed pass,
    measured now, so a loaded or slow machine raises the bound with it), and never less than ``floor``.
    The handlers take about 1.5 times ``json.loads``; reading the body token by token in Python took
    ~1 µs a byte, about 25 times ``json.loads``, so the guard still catches that. A body too deep for
    ``json.loads`` (the nesting is at its end) is timed up to where it gives up."""
    started = time.process_time()
    with contextlib.suppress(ValueError, RecursionError):
        json.loads(body)
    return max(floor, times * (time.process_time() - started))
