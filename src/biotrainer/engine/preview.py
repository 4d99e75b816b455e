"""The live feedback preview: the score at the newest sample, between grid updates.

Metric updates are made on a fixed grid of data time (every 0.1 s) so that a session and its
re-analysis agree exactly. A view that waited for the next grid point would show the feedback up
to 0.1 s late, so after every tick the engine also offers a :class:`FeedbackPreview`: the alpha
feedback score at the newest sample, scored against the same baseline and threshold and gated
by the same signal quality as the latest update. Previews are for display only; rewards,
thresholds and the recorded ``metrics.csv`` stay on the grid.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FeedbackPreview:
    """The feedback at the newest sample (display only).

    Attributes
    ----------
    sample_time : float
        Timestamp (s, source clock) of the newest sample it includes.
    received_at : float
        Engine clock time (s) when that sample was polled.
    feedback_value : float
        The feedback metric (relative alpha) at that sample.
    feedback_z : float
        Its z-score against the person's baseline, gated like the updates (NaN: hold still).
    feedback_score : float
        ``score_from_z(feedback_z, ...)`` centred on the reward threshold the next update will
        be judged against (with its score scale), as the updates' scores: 0..1, 0.5 at the bar
        (NaN: hold still).
    """

    sample_time: float
    received_at: float
    feedback_value: float
    feedback_z: float
    feedback_score: float
