"""Bounds shared by the command line and the files it reads (no imports: the CLI starts fast)."""

from __future__ import annotations

#: Longest wait (s) for a device to answer: ``--timeout`` and a device profile's
#: ``connection.timeout``.
MAX_TIMEOUT_S = 600.0

#: Largest simulator seed (``--seed``, a simulator profile's ``seed``): the generator draws from
#: 32 bits of it, so larger seeds would repeat smaller ones under another name.
MAX_SEED = 2**32 - 1
