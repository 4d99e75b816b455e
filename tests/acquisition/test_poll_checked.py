"""poll_checked: a source's foreign exception becomes a DeviceError saying what it was."""

from __future__ import annotations

import pytest

from biotrainer.acquisition.source import poll_checked
from biotrainer.errors import DeviceError, RecordingError


class Raising:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def poll(self):
        raise self.exc


def test_foreign_errors_become_device_errors_with_their_cause() -> None:
    cause = OSError(5, "Input/output error")
    with pytest.raises(DeviceError, match=r"failed unexpectedly while reading \(OSError: ") as info:
        poll_checked(Raising(cause))
    assert info.value.__cause__ is cause


def test_biotrainer_errors_pass_unchanged() -> None:
    err = RecordingError("the disk is full")
    with pytest.raises(RecordingError) as info:
        poll_checked(Raising(err))
    assert info.value is err
    with pytest.raises(KeyboardInterrupt):
        poll_checked(Raising(KeyboardInterrupt()))
