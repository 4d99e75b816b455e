"""PDF reports with Qt alone: QTextDocument HTML + pyqtgraph charts, written by QPdfWriter.

Works without a display: when no QApplication runs yet one is created on Qt's ``offscreen``
platform, so ``biotrainer report`` runs on a server. The HTML and the chart descriptions come from
:mod:`biotrainer.reports` (Qt-free); this module only draws them.
"""

from __future__ import annotations

import html
import os
import shutil
import sys
import unicodedata
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from pyqtgraph.exporters import ImageExporter
from PySide6.QtCore import QMarginsF, QSizeF, Qt, QUrl
from PySide6.QtGui import (
    QColor,
    QFont,
    QImage,
    QPageLayout,
    QPageSize,
    QPdfWriter,
    QPen,
    QTextDocument,
    QTextLayout,
)
from PySide6.QtWidgets import QApplication

from biotrainer.errors import BiotrainerError
from biotrainer.paths import FILE_MODE, check_output_file, private_temp_beside, shown
from biotrainer.reports.charts import INCOMPLETE_KEY, Band, Chart, Series, auto_range, plottable
from biotrainer.reports.html import (
    CHART_WIDTH,
    REPORT_FONT,
    progress_html,
    session_html,
    shown_progress_charts,
    shown_session_charts,
)
from biotrainer.reports.progress import ProgressReport
from biotrainer.reports.session_report import SessionReport

#: Logical size (px) of one chart panel; exported at :data:`SCALE` times for print.
PANEL_SIZE = (CHART_WIDTH, 170)
SCALE = 2.5
#: Half the width (px) of a session's label ("#12" over a date) under a progress chart.
EDGE_LABEL_PX = 40
#: Left axis width (px) shared by all panels so their time axes line up.
LEFT_AXIS_PX = 58
#: Room at both ends of a chart's given x range (:attr:`Chart.x_range`), as a fraction of it.
X_PADDING = 0.02
#: Room (px) left beside a title wrapped over lines.
TITLE_MARGIN_PX = 20


def ensure_application() -> QApplication:
    """The running QApplication, or a new one on the offscreen platform: a report never needs
    a display, whatever ``QT_QPA_PLATFORM`` says (``xcb`` over ssh with no display aborted)."""
    app = QApplication.instance()
    if app is None:
        app = QApplication([sys.argv[0] if sys.argv else "biotrainer", "-platform", "offscreen"])
    return app  # type: ignore[return-value]


def _pen(color: str, width: float = 1.6, dashed: bool = False) -> QPen:
    pen = pg.mkPen(QColor(color), width=width)
    pen.setCosmetic(True)
    if dashed:
        pen.setStyle(Qt.PenStyle.DashLine)
    return pen


#: The legend's glyphs of the marker shapes (:data:`~biotrainer.reports.charts.SYMBOLS`):
#: filled, hollow.
SYMBOL_GLYPHS = {
    "o": ("●", "○"),
    "s": ("■", "□"),
    "t1": ("▲", "△"),
    "d": ("◆", "◇"),
    "t": ("▼", "▽"),
    "star": ("★", "☆"),
}
#: The legend's entry for hollow markers that say nothing else
#: (:attr:`~biotrainer.reports.charts.Series.hollow_keys`).
HOLLOW_LABEL = INCOMPLETE_KEY
#: Colour of the legend's words that are no series' (the hollow markers', the strips').
KEY_TEXT = "#333333"


def _key(color: str, glyph: str, label: str) -> str:
    """One legend entry, never broken inside (the entries wrap between one another)."""
    words = html.escape(label).replace(" ", "&nbsp;").replace("-", "\u2011")  # (a no-break hyphen)
    return f'<span style="color:{color}">{glyph}&nbsp;{words}</span>'


def _series_keys(chart: Chart) -> list[str]:
    """The series' legend entries: one per label (a line's, else its markers': hollow when
    they are), and one for each thing hollow markers stand for
    (:attr:`~biotrainer.reports.charts.Series.hollow_keys`)."""
    shown = [s for s in chart.series if s.label and (s.has_data or not chart.keyed)]
    if not chart.keyed and len(chart.series) < 2:
        return []
    keys: dict[str, str] = {}
    hollow: dict[str, None] = {}
    for s in shown:
        filled, outline = SYMBOL_GLYPHS.get(s.symbol, SYMBOL_GLYPHS["o"])
        if s.style == "line":
            glyph = "╌╌" if s.dashed else "━━"
        elif s.style == "linepoints":
            glyph = f"━{filled}━"
        else:
            glyph = filled
        if s.hollow:
            # (a protocol drawn only hollow: its entry is hollow too)
            keys.setdefault(s.label, _key(s.color, glyph.replace(filled, outline), s.label))
            hollow.update(dict.fromkeys(s.hollow_keys or (HOLLOW_LABEL,)))
        else:
            keys[s.label] = _key(s.color, glyph, s.label)
    return [
        *keys.values(),
        *(_key(KEY_TEXT, SYMBOL_GLYPHS["o"][1], what) for what in hollow),
    ]


def _legend_title(chart: Chart) -> str:
    """The title with a colour key of the series (pyqtgraph's legend does not scale on export):
    on the title's line, or for a :attr:`~biotrainer.reports.charts.Chart.keyed` chart (many
    long entries: a progress chart's protocols) on lines of their own below it, wrapped
    between entries."""
    title = html.escape(chart.title)
    keys = _series_keys(chart)
    # a pause / signal loss strip: a block of its colour, once per label
    marks = {m.label: m.color for m in chart.marks if m.label}
    keys += [
        f'<span style="color:{color}">█</span><span style="color:{KEY_TEXT}"> '
        f"{html.escape(label)}</span>"
        for label, color in marks.items()
    ]
    if not keys:
        return title
    if chart.keyed:
        return f"{title}<br><span style='font-size:8pt'>{'&nbsp;&nbsp; '.join(keys)}</span>"
    return f"{title}&nbsp;&nbsp;&nbsp;{'&nbsp;&nbsp;'.join(keys)}"


def _fit_title(item: pg.PlotItem, width: float) -> float:
    """Wrap the title to ``width`` px, centred, and give its row the height it takes (px)."""
    text = item.titleLabel.item
    text.setTextWidth(width)
    option = text.document().defaultTextOption()
    option.setAlignment(Qt.AlignmentFlag.AlignHCenter)
    text.document().setDefaultTextOption(option)
    item.titleLabel.updateMin()  # (its least width was the unwrapped text's)
    height = max(30.0, text.boundingRect().height())
    item.titleLabel.setMaximumHeight(height)
    item.layout.setRowFixedHeight(0, height)
    return height


def _plot_series(item: pg.PlotItem, s: Series) -> None:
    """Draw one series: its line through all its points (a NaN leaves a gap), its markers on
    the finite ones (hollow: outlined in its colour)."""
    x = plottable(s.x)
    y = plottable(s.y)
    if s.style != "points":
        item.plot(x, y, pen=_pen(s.color, dashed=s.dashed), connect="finite", name=s.label)
    if s.style in ("points", "linepoints"):
        ok = np.isfinite(x) & np.isfinite(y)
        color = QColor(s.color)
        fill = pg.mkBrush(QColor("white")) if s.hollow else pg.mkBrush(color)
        outline = pg.mkPen(color, width=1.6) if s.hollow else None
        item.plot(
            x[ok],
            y[ok],
            pen=None,
            symbol=s.symbol,
            symbolSize=8 if s.hollow else 7,
            symbolBrush=fill,
            symbolPen=outline,
        )


#: Room (px) kept between a phase's label and the end of the phase's shading.
BAND_LABEL_GAP_PX = 2
#: Room (px) between a phase's label and the plot's top (a label placed on the very edge fell
#: outside the plot by a rounding error).
BAND_LABEL_INSET_PX = 1


def _add_band_labels(item: pg.PlotItem, bands: tuple[Band, ...], top: float, font: QFont) -> None:
    """Label the phases (shaded bands) at the top of the plot, each label on the first band of
    its colour that is wide enough on screen to hold it whole, and kept there as the plot is
    laid out or resized (see :func:`place_band_labels`)."""
    groups: list[tuple[pg.TextItem, list[Band]]] = []
    for band in bands:
        if not band.label:
            continue
        text = pg.TextItem(band.label, color="#555555", anchor=(0, 0))
        text.setFont(font)
        text.setVisible(False)  # until placed, when the plot's size is known
        item.addItem(text, ignoreBounds=True)
        groups.append((text, [b for b in bands if b.color == band.color]))
    if not groups:
        return
    view = item.getViewBox()

    def place() -> None:
        place_band_labels(view, groups, top)

    view.sigResized.connect(place)
    view.sigXRangeChanged.connect(place)
    place()


def place_band_labels(
    view: pg.ViewBox, groups: list[tuple[pg.TextItem, list[Band]]], top: float
) -> None:
    """Put each label at the top left of the shown part of the first of its bands that holds
    it whole; hide it when none does (a phase that only began, or only its end shown: the
    caption says what each colour is). A label never sticks out of its phase or the chart."""
    (x_lo, x_hi), _ = view.viewRange()
    per_px, per_px_y = view.viewPixelSize()  # units per pixel (none while not laid out)
    for text, bands in groups:
        need = (text.boundingRect().width() + BAND_LABEL_GAP_PX) * per_px
        shown = [(max(b.x0, x_lo), min(b.x1, x_hi)) for b in bands]
        spot = next((x0 for x0, x1 in shown if per_px > 0 and x1 - x0 >= need), None)
        text.setVisible(spot is not None)
        if spot is not None:
            text.setPos(spot, top - BAND_LABEL_INSET_PX * per_px_y)


def build_plot(chart: Chart, size: tuple[int, int] = PANEL_SIZE) -> pg.PlotWidget:
    """A white-background PlotWidget drawing ``chart`` (also used by the history view)."""
    w = pg.PlotWidget(background="w")
    w.resize(*size)
    item = w.getPlotItem()
    font = QFont()
    font.setPointSizeF(8.0)
    item.setTitle(_legend_title(chart), color="#111111", size="9pt")
    if chart.keyed:
        # the legend's lines add to the panel: the plot keeps its height
        extra = _fit_title(item, size[0] - LEFT_AXIS_PX - TITLE_MARGIN_PX) - 30
        w.resize(size[0], int(size[1] + extra))
    for name in ("left", "bottom"):
        axis = item.getAxis(name)
        axis.setPen(pg.mkPen("#444444"))
        axis.setTextPen(pg.mkPen("#222222"))
        axis.setStyle(tickFont=font)
        # no "(x0.001)" after the label of an axis whose values are all below 1 (the minutes
        # of a short session, a low coherence ratio): the values are printed as they are
        axis.enableAutoSIPrefix(False)
    item.getAxis("left").setWidth(LEFT_AXIS_PX)
    item.setLabel("left", chart.y_label, color="#222222", **{"font-size": "8pt"})
    if chart.x_label:
        item.setLabel("bottom", chart.x_label, color="#222222", **{"font-size": "8pt"})
    item.showGrid(x=False, y=True, alpha=0.25)
    item.setMenuEnabled(False)
    item.hideButtons()
    if chart.x_ticks is not None:
        item.getAxis("bottom").setTicks([list(chart.x_ticks)])
    y_range = auto_range(chart)
    for band in chart.bands:
        region = pg.LinearRegionItem(
            (band.x0, band.x1),
            movable=False,
            brush=pg.mkBrush(QColor(band.color)),
            pen=pg.mkPen(None),
        )
        region.setZValue(-20)
        item.addItem(region, ignoreBounds=True)
    if y_range is not None:
        _add_band_labels(item, chart.bands, y_range[1], font)
    for mark in chart.marks:
        # over the phases, under the curves; an edge so that a narrow strip still shows
        region = pg.LinearRegionItem(
            (mark.x0, mark.x1),
            movable=False,
            brush=pg.mkBrush(QColor(mark.color)),
            pen=pg.mkPen(QColor(mark.color).darker(130), width=1),
        )
        region.setZValue(-10)
        item.addItem(region, ignoreBounds=True)
    if chart.reference is not None:
        line = pg.InfiniteLine(
            chart.reference, angle=0, pen=pg.mkPen("#888888", style=Qt.PenStyle.DotLine)
        )
        item.addItem(line, ignoreBounds=True)
    for s in chart.series:
        _plot_series(item, s)
    if y_range is not None:
        item.setYRange(*y_range, padding=0)
    if chart.x_range is not None:
        item.setXRange(*chart.x_range, padding=X_PADDING)
    if chart.x_ticks:
        # Room at both ends for half a label, or pyqtgraph hides the first and last labels.
        lo, hi = min(t for t, _ in chart.x_ticks), max(t for t, _ in chart.x_ticks)
        f = EDGE_LABEL_PX / (size[0] - LEFT_AXIS_PX)
        pad = max(0.5, f * (hi - lo) / (1 - 2 * f))
        item.setXRange(lo - pad, hi + pad, padding=0)
    return w


def render_chart(chart: Chart, size: tuple[int, int] = PANEL_SIZE, scale: float = SCALE) -> QImage:
    """``chart`` as an image ``scale`` times ``size`` (pyqtgraph's ImageExporter)."""
    ensure_application()
    w = build_plot(chart, size)
    # A widget gets its layout (resize events) only once shown: show it without a window.
    w.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    w.show()
    QApplication.processEvents()
    try:
        exporter = ImageExporter(w.getPlotItem())
        exporter.parameters()["width"] = int(size[0] * scale)
        exporter.parameters()["antialias"] = True
        image = exporter.export(toBytes=True)
    finally:
        w.close()
        w.deleteLater()
    if not isinstance(image, QImage) or image.isNull():
        raise BiotrainerError(f"could not draw the chart {chart.name!r}")
    return image


def unprintable_characters(doc: QTextDocument) -> str:
    """The characters of ``doc`` that no installed font can draw (Qt prints them as empty
    boxes), each once, in order of appearance."""
    font = QFont(REPORT_FONT)
    out: list[str] = []
    for ch in dict.fromkeys(doc.toPlainText()):
        if ch.isascii() or unicodedata.category(ch)[0] in "CZ":
            continue
        layout = QTextLayout(ch, font)
        layout.beginLayout()
        layout.createLine()
        layout.endLayout()
        glyphs = [g for run in layout.glyphRuns() for g in run.glyphIndexes()]
        if not glyphs or 0 in glyphs:  # glyph 0 is the font's "missing" box
            out.append(ch)
    return "".join(out)


def missing_font_note(chars: str) -> str:
    """What to tell the reader of a report with characters no installed font can draw."""
    shown_chars = " ".join(chars[:12]) + (" …" if len(chars) > 12 else "")
    return (
        f"no installed font can draw {shown_chars}: the PDF shows them as empty boxes. Install a "
        "font for that script (for example a Noto font) and write the report again"
    )


def write_pdf(
    html: str,
    charts: list[Chart],
    out: str | os.PathLike[str],
    title: str,
    warn: Callable[[str], None] | None = None,
) -> Path:
    """Lay out ``html`` (with ``chart:<name>`` images) on A4 pages and write the PDF (0600).

    ``warn`` is called with a message when some characters (a name in a script no installed
    font covers) could only be printed as empty boxes.

    Raises
    ------
    BiotrainerError
        If the file cannot be written, or ``out`` is not a file a report may replace (a folder,
        a pipe, a device, a link to one or to nothing: :func:`~biotrainer.paths.check_output_file`).
    """
    path = Path(out)
    name = shown(path)
    target = check_output_file(path)  # (a link to a file: that file is written, the link kept)
    if path.parent and not path.parent.is_dir():
        raise BiotrainerError(f"cannot write {name}: the folder {path.parent} does not exist")
    ensure_application()
    # Written to a temporary file next to ``target`` and renamed when complete: a failed write
    # (a full disk) leaves no empty PDF behind, and ``path`` may have a non-UTF-8 name (Qt
    # takes file names as text).
    tmp = private_temp_beside(target, ".pdf.part")
    try:
        missing = _print_pdf(html, charts, tmp, title)
        if tmp.stat().st_size == 0:
            free = shutil.disk_usage(tmp.parent).free
            why = "the disk is full" if free < (1 << 20) else "nothing was written"
            raise BiotrainerError(f"could not write the PDF {name}: {why}")
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, target)
    except OSError as exc:
        raise BiotrainerError(f"could not write the PDF {name}: {exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    if missing and warn is not None:
        warn(missing_font_note(missing))
    return path


def _print_pdf(html: str, charts: list[Chart], path: Path, title: str) -> str:
    """Lay out and print the document into ``path`` with Qt's PDF writer; return the characters
    no installed font could draw."""
    doc = QTextDocument()
    doc.setDocumentMargin(0)
    for chart in charts:
        doc.addResource(
            QTextDocument.ResourceType.ImageResource,
            QUrl(f"chart:{chart.name}"),
            render_chart(chart),
        )
    doc.setHtml(html)
    writer = QPdfWriter(str(path))
    writer.setTitle(title)
    writer.setCreator("biotrainer")
    writer.setResolution(300)
    writer.setPageLayout(
        QPageLayout(
            QPageSize(QPageSize.PageSizeId.A4),
            QPageLayout.Orientation.Portrait,
            QMarginsF(15, 15, 15, 15),
            QPageLayout.Unit.Millimeter,
        )
    )
    # Lay the document out at 96 px per inch over the printable width, then print (paginates).
    rect = writer.pageLayout().paintRect(QPageLayout.Unit.Inch)
    doc.setPageSize(QSizeF(rect.width() * 96, rect.height() * 96))
    doc.print_(writer)
    del writer  # finishes the file
    return unprintable_characters(doc)


def write_session_pdf(
    report: SessionReport,
    out: str | os.PathLike[str],
    warn: Callable[[str], None] | None = None,
) -> Path:
    """Render a :class:`~biotrainer.reports.session_report.SessionReport` to ``out`` (``warn``:
    see :func:`write_pdf`): the charts its HTML shows as images are drawn, those that would
    show no course are said in words there (:func:`~biotrainer.reports.html.session_html`)."""
    title = f"biotrainer session {report.session.id}"
    return write_pdf(session_html(report), shown_session_charts(report), out, title, warn)


def write_progress_pdf(
    report: ProgressReport,
    out: str | os.PathLike[str],
    warn: Callable[[str], None] | None = None,
) -> Path:
    """Render a :class:`~biotrainer.reports.progress.ProgressReport` to ``out`` (``warn``: see
    :func:`write_pdf`); a chart without data (no ratings) is said in words by the HTML, not
    drawn empty."""
    title = f"biotrainer progress {report.patient_code}"
    return write_pdf(progress_html(report), shown_progress_charts(report), out, title, warn)
