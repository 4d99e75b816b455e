"""biotrainer.acquisition layer: device profiles and sources (BrainFlow boards, playback).

Public names are imported lazily so ``biotrainer.acquisition.chunk`` / ``.source`` stay cheap to
import (BrainFlow loads only when a profile or source is used).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Chunk": "chunk",
    "SignalBlock": "chunk",
    "ROLES": "chunk",
    "PRESETS": "chunk",
    "Source": "source",
    "SourceState": "source",
    "SourceLayout": "source",
    "PresetLayout": "source",
    "ChannelGroup": "source",
    "DeviceProfile": "profiles",
    "ChannelSpec": "profiles",
    "ConnectionSpec": "profiles",
    "ProfileDefaults": "profiles",
    "load_profile": "profiles",
    "list_profiles": "profiles",
    "profile_names": "profiles",
    "profiles_dir": "profiles",
    "layout_for_board": "profiles",
    "resolve_board": "profiles",
    "BrainFlowSource": "brainflow_source",
    "ConnectionParams": "brainflow_source",
    "open_source": "factory",
    "open_playback": "factory",
    "connection_from_args": "factory",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
