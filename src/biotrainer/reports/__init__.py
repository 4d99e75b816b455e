"""Reports for the care team: data assembly, charts and HTML, all Qt-free.

- :mod:`~biotrainer.reports.session_report`: one session (phases, baseline vs training, quality,
  self-reports, markers, metric time series).
- :mod:`~biotrainer.reports.progress`: one patient across sessions.
- :mod:`~biotrainer.reports.charts`: chart descriptions (series, phase bands) any renderer can draw.
- :mod:`~biotrainer.reports.html`: the HTML (Qt rich-text subset) of both reports; charts are
  referenced as ``<img src="chart:NAME">`` and drawn by :mod:`biotrainer.ui.report_pdf`.
- :mod:`~biotrainer.reports.csv_export`: the metric time series as CSV.

Reports are de-identified by default: they show the patient code, never the name, unless built
with ``with_name=True``; the name is also masked in free-text notes.
"""
