"""Give freed memory back to the operating system between the stages of a run.

A run's large stages (the pass over the OSM file, the noise model) allocate and free
hundreds of megabytes. Freed memory stays with the allocator that held it: glibc keeps
it in its arenas (one per thread that allocated), Arrow in its own memory pool. The
process's resident size then stays at the stage's peak, and the next stage's peak
comes on top. :func:`release_memory` hands it back: a garbage collection, Arrow's
``release_unused`` (only when pyarrow is already imported) and glibc's
``malloc_trim(0)`` (only where the C library is glibc). Nothing is freed that is in use;
on other platforms it only collects.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import logging
import sys
from functools import cache
from typing import Any

log = logging.getLogger(__name__)


@cache
def _malloc_trim() -> Any:
    """The C library's ``malloc_trim`` (glibc), or None where it has none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


def release_memory() -> bool:
    """Collect garbage and return freed memory to the operating system where the allocator can.

    Returns
    -------
    bool
        True when glibc's ``malloc_trim`` ran (and gave memory back), False otherwise.
    """
    gc.collect()
    arrow = sys.modules.get("pyarrow")
    if arrow is not None:
        with contextlib.suppress(AttributeError, NotImplementedError):  # old pyarrow
            arrow.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is None:
        return False
    return bool(trim(0))
