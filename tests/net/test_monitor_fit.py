"""Clinic monitor layout: the tiles fit the window (no scrolling up to sixteen stations at the
default 1100×700), their text stays legible and whole, and it follows the window's size."""

from __future__ import annotations

import pytest
from lslkit import settle
from PySide6.QtCore import QRect, QSize
from PySide6.QtWidgets import QLabel, QScrollArea

from biotrainer.net.discovery import StationState, StationStatus

LONG_NAME = "station-name-with-32-characters1"
PHASE = "Baseline, eyes open"
CLASH = f"two stations use the name {LONG_NAME}: give each its own --lsl name"
#: Smallest legible point sizes: any text, the station name, the score.
TEXT_PT, TITLE_PT, SCORE_PT = 10, 13, 24


def status(
    i: int,
    name: str = "",
    code: str = "",
    state: StationState = StationState.LIVE,
    alert: str = "",
    same_name: int = 0,
) -> StationStatus:
    return StationStatus(
        key=f"station-{i}",
        station=name or f"room{i}",
        patient_code=code or f"P-{i:04d}",
        protocol="eeg-hrv-relaxation",
        hostname="vm",
        phases=(PHASE,),
        phase_index=0,
        phase_name=PHASE,
        feedback_score=(i * 0.13) % 1,
        relaxation=0.5,
        hr_bpm=188.0 if i == 4 else 70.0,  # the widest values a tile shows whole
        rmssd_ms=188.0 if i == 4 else 40.0,
        coherence=1.0,
        breathing_bpm=6.0,
        quality_ok=i != 4,
        rewarded=False,
        state=state,
        alert=alert,
        silent_s=0.0,
        samples=10,
        same_name=same_name,
    )


class Stations:
    """``n`` stations like a clinic's: a long name and code, a lost stream, a lost signal and,
    with ``clash``, two stations sharing the long name (the longest banners there are)."""

    def __init__(self, n: int, clash: bool = False) -> None:
        self.n, self.clash = n, clash

    def update(self, now: float) -> list[StationStatus]:
        out = []
        for i in range(1, self.n + 1):
            if i == 1 and self.clash:
                out.append(status(i, LONG_NAME, alert=CLASH, same_name=2))
            elif i == 2 and self.clash:
                alert = f"{CLASH} (no data for 12 s: stream lost)"
                out.append(status(i, LONG_NAME, "", StationState.STREAM_LOST, alert, 2))
            elif i == 2:
                out.append(status(i, LONG_NAME, "X-" + "a" * 61 + "1"))
            elif i == 3:
                lost = StationState.STREAM_LOST
                out.append(status(i, "", "P 007.a-b", lost, "no data for 12 s: stream lost"))
            elif i == 5:
                out.append(status(i, "", "", StationState.SIGNAL_LOST, "signal lost for 6 s"))
            else:
                out.append(status(i))
        return out

    def close(self) -> None:
        pass


def open_monitor(qtbot, n: int, size: tuple[int, int] | None = None, clash: bool = False):
    from biotrainer.ui.monitor import MonitorWindow

    window = MonitorWindow(Stations(n, clash))
    qtbot.addWidget(window)
    if size is not None:
        window.resize(*size)
    window.show()
    window.refresh()
    qtbot.waitExposed(window)
    settle(qtbot)
    assert len(window.tiles) == n
    return window


def scroll_area(window) -> QScrollArea:
    area = window.centralWidget()
    assert isinstance(area, QScrollArea)
    return area


def labels(tile) -> list[QLabel]:
    return [w for w in tile.findChildren(QLabel) if w.isVisible()]


def shown(label: QLabel) -> str:
    """What a label paints (an eliding label paints less than its text)."""
    return label.shown_text() if hasattr(label, "shown_text") else label.text()


def clipped(label: QLabel) -> bool:
    r = label.contentsRect()
    flags = int(label.alignment()) | (0x1000 if label.wordWrap() else 0)  # Qt.TextWordWrap
    need = label.fontMetrics().boundingRect(r, flags, shown(label))
    return need.width() > r.width() or need.height() > r.height()


def assert_whole_and_legible(window) -> None:
    """Every label of every tile is legible, painted whole, inside its tile and clear of the
    others."""
    for tile in window.tiles.values():
        name = tile.title.text()
        inside = tile.contentsRect()
        rects: list[QRect] = []
        for label in labels(tile):
            assert label.font().pointSize() >= TEXT_PT, f"{name}: {label.text()!r} too small"
            assert not clipped(label), f"{name}: {label.text()!r} is clipped"
            rect = label.geometry()
            assert inside.contains(rect), f"{name}: {label.text()!r} outside its tile"
            overlaps = [r for r in rects if r.intersects(rect)]
            assert not overlaps, f"{name}: {label.text()!r} overlaps another label"
            rects.append(rect)
        assert tile.title.font().pointSize() >= TITLE_PT
        assert tile.score.font().pointSize() >= SCORE_PT
        assert tile.banner.text() and not clipped(tile.banner)


def assert_no_scrolling(window) -> None:
    area = scroll_area(window)
    assert area.verticalScrollBar().maximum() == 0, "the view scrolls vertically"
    assert area.horizontalScrollBar().maximum() == 0, "the view scrolls horizontally"
    view = area.viewport()
    for tile in window.tiles.values():
        rect = QRect(tile.mapTo(view, tile.rect().topLeft()), tile.size())
        assert view.rect().contains(rect), f"{tile.title.text()} is not wholly in view"


@pytest.mark.parametrize("n", range(1, 9))
def test_up_to_eight_stations_fit_the_default_window_whole(qtbot, n):
    window = open_monitor(qtbot, n)
    assert window.size() == QSize(1100, 700)  # the default size
    assert_no_scrolling(window)
    assert_whole_and_legible(window)
    if n >= 2:
        long_code = window.tiles["station-2"].patient
        assert "…" in shown(long_code) and shown(long_code).endswith("a1")  # elided mid-way
    if n >= 3:
        lost = window.tiles["station-3"].banner.text()
        assert lost == "NO DATA FOR 12 S: STREAM LOST"


@pytest.mark.parametrize("n", range(9, 17))
def test_nine_to_sixteen_stations_fit_the_default_window_still_legible(qtbot, n):
    window = open_monitor(qtbot, n)
    assert_no_scrolling(window)
    assert_whole_and_legible(window)
    for tile in window.tiles.values():
        assert tile.width() >= 200 and tile.height() >= 150
        assert shown(tile.phase).endswith(PHASE)  # the protocol's name gives way first


def test_sixteen_stations_on_a_full_hd_screen_fit_with_larger_text(qtbot):
    small = open_monitor(qtbot, 16)
    small_pt = small.tiles["station-1"].score.font().pointSize()
    window = open_monitor(qtbot, 16, (1920, 1080))
    assert_no_scrolling(window)
    assert_whole_and_legible(window)
    assert window.tiles["station-1"].score.font().pointSize() > max(small_pt, 32)


def test_text_follows_the_window_size(qtbot):
    window = open_monitor(qtbot, 8)

    def score_pt() -> int:
        return window.tiles["station-1"].score.font().pointSize()

    before = score_pt()
    window.resize(1920, 1080)
    qtbot.waitUntil(lambda: score_pt() > before, timeout=10_000)
    settle(qtbot)
    assert_no_scrolling(window)
    assert_whole_and_legible(window)
    window.resize(1100, 700)
    qtbot.waitUntil(lambda: score_pt() == before, timeout=10_000)
    settle(qtbot)
    assert_no_scrolling(window)
    assert_whole_and_legible(window)


@pytest.mark.parametrize("n", [2, 8, 12])
def test_the_longest_banners_stay_whole_without_scrolling(qtbot, n):
    window = open_monitor(qtbot, n, clash=True)
    assert_no_scrolling(window)
    assert_whole_and_legible(window)
    lost = window.tiles["station-2"].banner
    assert lost.text() == f"{CLASH} (no data for 12 s: stream lost)"


def test_beyond_what_fits_the_view_scrolls_with_tiles_kept_legible(qtbot):
    window = open_monitor(qtbot, 30)
    area = scroll_area(window)
    assert area.verticalScrollBar().maximum() > 0
    assert area.horizontalScrollBar().maximum() == 0
    assert_whole_and_legible(window)


def test_a_new_station_refits_the_tiles(qtbot):
    window = open_monitor(qtbot, 8)
    window.tracker.n = 16
    window.refresh()
    settle(qtbot)
    assert len(window.tiles) == 16
    assert_no_scrolling(window)
    assert_whole_and_legible(window)
    window.tracker.n = 0
    window.refresh()
    settle(qtbot)
    assert not window.tiles and window._empty.isVisible()


def test_grid_choice_prefers_the_largest_text_then_the_most_even_tiles():
    from biotrainer.ui.monitor_grid import choose_grid

    def width(scale: float) -> int:
        return round(200 * scale)

    def height(scale: float, w: int, i: int) -> int:
        return round(150 * scale) + (100 if i == 0 else 0)  # the first tile has a long banner

    scales = (1.5, 1.0, 0.5)
    # 4 tiles in 1000 × 400: too narrow at 1.5; at 1.0 only one row of 4 is low enough
    choice = choose_grid(4, 1000, 400, 10, width, height, scales)
    assert (choice.cols, choice.scale, choice.fits) == (4, 1.0, True)
    # in 1000 × 1000 one, two and four columns fit at 1.0: 2 × 2 is the most even
    choice = choose_grid(4, 1000, 1000, 10, width, lambda s, w, i: round(150 * s), (1.0,))
    assert (choice.cols, choice.scale, choice.fits) == (2, 1.0, True)
    # 30 tiles do not fit at all: the smallest scale, as many columns as the width holds
    choice = choose_grid(30, 1000, 400, 10, width, height, scales)
    assert (choice.cols, choice.scale, choice.fits) == (9, 0.5, False)
