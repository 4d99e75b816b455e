"""Bounds shared by the command line and the files it reads (no imports: the CLI starts fast)."""

from __future__ import annotations

#: Longest wait (s) for a device to answer: ``--timeout`` and a device profile's
#: ``connection.timeout``.
MAX_TIMEOUT_S = 600.0
