"""Recording, storage and export of sessions.

Session folder layout (one folder per session, created 0700; every file 0600)::

    <data_dir>/sessions/<YYYYmmdd-HHMMSS>-<device>[-N]/     (UTC start time; -N if taken)
        session.json      metadata (see SessionMeta): format/version, software and BrainFlow
                          versions, device profile, board_id (the raw files' row layout),
                          sampling rates, layout (SourceLayout.to_dict()), channels (label, role,
                          name, preset, row, units), start {utc, timestamp of the first sample},
                          end {utc, timestamp}, status, samples per preset, connection (no MAC
                          address / serial number values), extra (free room for other layers).
        raw_<preset>.csv  one per preset of the layout, BrainFlow's own file format
                          (DataFilter.write_file(..., "a"); playable by PLAYBACK_FILE_BOARD with
                          master_board = board_id), appended and synced at least once a second.
        events.csv        time,kind,text  (time = BrainFlow timestamp, s); appended + synced per
                          event: marker, note, gap, signal_lost, signal_restored...
        metrics.csv       written by the engine through Recorder.open_csv (same appender).

``status`` is ``"recording"`` while the recorder runs and ``"completed"`` once it closed cleanly.
A folder still saying ``"recording"`` was interrupted (killed, crashed): readers report it so, and
its raw files hold everything but at most the last ~1 s.

``data_dir`` is ``--data-dir``, else ``$BIOTRAINER_DATA``, else the platform's user data dir
(:func:`biotrainer.paths.data_dir`). ``--out DIR`` records into exactly ``DIR``.
"""

from biotrainer.session.csvlog import CsvAppender
from biotrainer.session.folder import (
    EVENTS_FILE,
    META_FILE,
    METRICS_FILE,
    STATUS_COMPLETED,
    STATUS_INTERRUPTED,
    STATUS_RECORDING,
    SessionMeta,
    list_sessions,
    new_session_dir,
    raw_file_name,
    read_meta,
    sessions_root,
)
from biotrainer.session.reader import Event, Recording, load_events, load_session
from biotrainer.session.recorder import (
    EVENT_GAP,
    EVENT_MARKER,
    EVENT_NOTE,
    EVENT_SIGNAL_LOST,
    EVENT_SIGNAL_RESTORED,
    Recorder,
)

__all__ = [
    "EVENTS_FILE",
    "EVENT_GAP",
    "EVENT_MARKER",
    "EVENT_NOTE",
    "EVENT_SIGNAL_LOST",
    "EVENT_SIGNAL_RESTORED",
    "META_FILE",
    "METRICS_FILE",
    "STATUS_COMPLETED",
    "STATUS_INTERRUPTED",
    "STATUS_RECORDING",
    "CsvAppender",
    "Event",
    "Recorder",
    "Recording",
    "SessionMeta",
    "list_sessions",
    "load_events",
    "load_session",
    "new_session_dir",
    "raw_file_name",
    "read_meta",
    "sessions_root",
]
