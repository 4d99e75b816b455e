"""Save a screenshot of the main window streaming from a device (synthetic board by default).

    QT_QPA_PLATFORM=offscreen python scripts/screenshot_main_window.py [--device NAME] \
        [--seconds 12] [--out docs/screenshots/main_window.png]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from biotrainer.cli import add_device_arguments
from biotrainer.errors import BiotrainerError

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_device_arguments(parser)
    parser.add_argument("--seconds", type=float, default=12.0, help="run time before the grab")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=860)
    parser.add_argument("--out", type=Path, default=REPO / "docs/screenshots/main_window.png")
    args = parser.parse_args(argv)

    from PySide6.QtCore import QTimer

    from biotrainer.acquisition.factory import connection_from_args, open_source
    from biotrainer.ui.app import application
    from biotrainer.ui.main_window import MainWindow

    app = application()
    try:
        source = open_source(device=args.device, connection=connection_from_args(args))
    except BiotrainerError as exc:
        print(f"screenshot: {exc}", file=sys.stderr)
        return 2
    window = MainWindow(source)
    window.resize(args.width, args.height)
    window.show()
    if not window.start():
        print(f"screenshot: {window.error}", file=sys.stderr)
        return 2

    def grab() -> None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        ok = window.grab().save(str(args.out))
        print(f"{'saved' if ok else 'could not save'} {args.out}")
        window.close()

    QTimer.singleShot(round(args.seconds * 1000), grab)
    app.exec()
    window.close()
    return 0 if args.out.exists() else 1


if __name__ == "__main__":
    sys.exit(main())
