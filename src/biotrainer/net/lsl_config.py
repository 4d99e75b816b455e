"""liblsl's configuration for biotrainer: its own log lines off unless the user configured it.

liblsl prints an INFO line ("Loaded default config") on stderr the first time it is used, which
turned every one-line message of ``biotrainer run --lsl-name ...`` into two. When the user has no
liblsl configuration of their own (``LSLAPICFG``, or an ``lsl_api.cfg`` where liblsl looks for
one), biotrainer gives liblsl its defaults with logging at warnings and errors only. A clinic's own
``lsl_api.cfg`` is used as it is, log level included.
"""

from __future__ import annotations

import os
from pathlib import Path

import pylsl

#: liblsl's default configuration but for its log level: fatal errors only (-2 let its
#: "ERR| Stream transmission broke off ... re-connecting" lines through, which biotrainer says
#: itself as "signal lost").
QUIET_CONFIG = "[log]\nlevel = -3\n"

_configured = False


def user_config_files() -> list[Path]:
    """Where liblsl looks for a configuration file, in its order (whether or not they exist)."""
    return [
        Path("lsl_api.cfg"),
        Path.home() / "lsl_api" / "lsl_api.cfg",
        Path("/etc/lsl_api/lsl_api.cfg"),
    ]


def has_user_config() -> bool:
    """True when liblsl will read a configuration of the user's (``LSLAPICFG`` or a file)."""
    if os.environ.get("LSLAPICFG"):
        return True
    try:
        return any(p.is_file() for p in user_config_files())
    except OSError:  # an unreadable home folder: liblsl would not read it either
        return False


def configure_liblsl() -> None:
    """Quiet liblsl's log unless the user configured liblsl (idempotent; takes effect only
    before liblsl's first use in the process)."""
    global _configured
    if _configured:
        return
    _configured = True
    if not has_user_config():
        pylsl.set_config_content(QUIET_CONFIG)
