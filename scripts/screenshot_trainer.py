"""Screenshots of the trainer during a simulated session: the dashboard and the patient view.

    xvfb-run -s "-screen 0 1920x1080x24" .venv/bin/python scripts/screenshot_trainer.py
    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshot_trainer.py   # also works

The simulator (16-channel EEG + ECG + PPG + respiration, ``stressed-to-relaxed``) is served
``--speed`` times faster than real time on the real clock, so the latency shown is real. The
grab is taken ``--at`` seconds of session time into the protocol (in the first training block
by default). The session is registered for patient ``P-017`` in a patient store in a temporary
folder (the ratings are not asked); session data go there too.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="simulator")
    parser.add_argument("--scenario", default="stressed-to-relaxed")
    parser.add_argument("--protocol", default="alpha-uptraining")
    parser.add_argument("--speed", type=float, default=8.0)
    parser.add_argument("--at", type=float, default=200.0, help="session seconds at the grab")
    parser.add_argument("--width", type=int, default=1600)
    parser.add_argument("--height", type=int, default=960)
    parser.add_argument("--out", type=Path, default=REPO / "docs/screenshots")
    args = parser.parse_args(argv)

    from PySide6.QtCore import QSettings, QTimer

    from biotrainer.acquisition.factory import open_accelerated
    from biotrainer.clock import MonotonicClock
    from biotrainer.engine.protocol import load_protocol
    from biotrainer.session.store import Store
    from biotrainer.ui.app import application
    from biotrainer.ui.trainer_window import TrainerWindow

    app = application()
    clock = MonotonicClock()
    with tempfile.TemporaryDirectory() as tmp, Store.open(tmp) as store:
        store.add_patient("P-017")
        window = TrainerWindow(
            lambda: open_accelerated(
                args.device, clock, args.speed, scenario=args.scenario, seed=3
            ),
            load_protocol(args.protocol),
            clock=clock,
            data_dir=tmp,
            settings=QSettings(str(Path(tmp) / "trainer.ini"), QSettings.Format.IniFormat),
            store=store,
            patient="P-017",
            ask_ratings=False,
        )
        window.resize(args.width, args.height)
        window.show()
        if not window.start_session():
            print(f"screenshot: {window.error}", file=sys.stderr)
            return 2
        pv = window.patient_view
        if pv is not None:
            pv.resize(1280, 800)
        args.out.mkdir(parents=True, exist_ok=True)
        saved: list[Path] = []

        def grab() -> None:
            if window.engine is None or window.engine.session_s < args.at:
                return
            timer.stop()
            for widget, name in ((window, "dashboard.png"), (pv, "patient_view.png")):
                if widget is not None:
                    path = args.out / name
                    if widget.grab().save(str(path)):
                        saved.append(path)
                        print(f"saved {path}")
            u = window.updates[-1]
            print(
                f"session {u.session_s:.0f} s, phase {u.phase_name!r}, "
                f"latency median {window.latency.median_ms:.0f} ms (dashboard), "
                f"{window.patient_latency.median_ms:.0f} ms (patient view)"
            )
            window.close()
            app.quit()

        timer = QTimer()
        timer.timeout.connect(grab)
        timer.start(200)
        app.exec()
        window.close()
    return 0 if saved else 1


if __name__ == "__main__":
    sys.exit(main())
