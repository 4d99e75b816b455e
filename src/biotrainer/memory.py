"""Giving the memory the program has freed back to the system.

A long session allocates and frees many small blocks (updates, spectra, painted images). The C
library keeps freed memory for reuse rather than returning it, so a window's resident memory
creeps up over hours although little is in use: the trainer window on the 16-channel simulator
grew 63 MB over a 2-hour session, 37 MB when this was asked for once a session minute
(``benchmarks/bench_trainer_soak.py``). Only the GNU C library (most Linux systems) has the
call; elsewhere nothing is done.
"""

from __future__ import annotations

import ctypes
import functools
import sys
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None where the C library has none (macOS, Windows, musl)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)  # the running program, with the C library it uses
    except OSError:
        return None
    trim = getattr(libc, "malloc_trim", None)
    if trim is None:
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release_free_memory() -> bool:
    """Return the C heap's free memory to the system (``malloc_trim(0)``: every arena, the
    free pages inside it too); ctypes lets go of the interpreter lock meanwhile.

    Returns
    -------
    bool
        False where the C library cannot do it (nothing was done).
    """
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
