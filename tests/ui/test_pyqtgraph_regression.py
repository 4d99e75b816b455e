"""Guard against a Qt/pyqtgraph combination that kills the interpreter.

PySide6 6.12.0 with pyqtgraph 0.14.0 aborts Python ("Fatal Python error: none_dealloc:
deallocating None") after a few thousand ``setData`` calls on a plot; PySide6 6.11.3 runs the
same loop cleanly. The loop runs in a subprocess so that a crash fails this test instead of
killing pytest. pyproject.toml pins PySide6 below 6.12 because of it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

MARKER = "setData loop completed"

LOOP = textwrap.dedent(
    f"""
    import numpy as np
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    widget = pg.PlotWidget()
    widget.resize(320, 200)
    widget.show()
    curve = widget.plot()
    rng = np.random.default_rng(0)
    for _ in range(3000):
        curve.setData(rng.normal(size=500))
        app.processEvents()
    widget.close()
    print({MARKER!r}, flush=True)
    """
)


def test_thousands_of_setdata_calls_do_not_crash_the_interpreter() -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run(
        [sys.executable, "-c", LOOP], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, (
        f"the setData loop died with exit code {proc.returncode} "
        f"(a PySide6/pyqtgraph regression?):\n{proc.stderr[-2000:]}"
    )
    assert MARKER in proc.stdout
