"""A simulated Bluetooth link: samples sent in numbered packets, some of which never arrive.

What BrainFlow makes of a Muse's stream (read in its ``muse.cpp``): the samples come in packets
of a fixed size, each numbered by the headset (a 16-bit sequence number, the same for the
packet's samples, put in the package-number row); each packet is stamped on arrival, its samples
spread evenly over the time since the packet before. A lost packet therefore leaves no step in
the timestamps, only a jump in the package numbers. :func:`bluetooth_packets` turns a rendered
array into such a stream, to test and measure what the losses do to the metrics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PacketStream:
    """A rendered array as it arrives over a lossy link.

    Attributes
    ----------
    data : np.ndarray
        The arriving samples (rows x n), package numbers and timestamps rewritten.
    kept : np.ndarray
        For each arriving sample, its index in the array sent.
    lost_packets : int
        Packets that did not arrive.
    """

    data: np.ndarray
    kept: np.ndarray
    lost_packets: int


def bluetooth_packets(
    sent: np.ndarray,
    fs: float,
    timestamp_row: int,
    package_row: int,
    samples_per_packet: int,
    loss: float,
    rng: np.random.Generator,
    modulo: int = 65536,
    latency_jitter_s: float = 0.02,
    lose: slice | np.ndarray | None = None,
) -> PacketStream:
    """The samples of ``sent`` (rows x n, at ``fs``) as a Bluetooth board delivers them.

    Parameters
    ----------
    sent : np.ndarray
        The array sent, in a board's row layout; its timestamp row holds the samples' true times.
    fs : float
        Sampling rate (Hz).
    timestamp_row, package_row : int
        Rows of the timestamps and of the package numbers.
    samples_per_packet : int
        Samples per packet (12 for a Muse's EEG, 6 for its PPG).
    loss : float
        Chance that a packet is lost (0..1), each drawn independently.
    rng : np.random.Generator
        Draws the lost packets and the arrival delays.
    modulo : int
        The package number wraps to 0 on reaching this.
    latency_jitter_s : float
        Arrival delays are drawn uniformly from 0 to this (kept in order).
    lose : slice or array of int, optional
        These packets (indices from 0) are lost too, whatever the draws (a dropout).

    Returns
    -------
    PacketStream
    """
    if not 0.0 <= loss < 1.0:
        raise ValueError(f"loss is {loss}, not in 0..1")
    n_packets = sent.shape[1] // samples_per_packet
    n = n_packets * samples_per_packet
    packet = np.arange(n) // samples_per_packet
    arrives = rng.random(n_packets) >= loss
    if lose is not None:
        arrives[lose] = False
    arrives[0] = True
    true_t = sent[timestamp_row, :n]
    last_t = true_t[samples_per_packet - 1 :: samples_per_packet]
    arrival = np.maximum.accumulate(last_t + rng.uniform(0.0, latency_jitter_s, n_packets))
    got = np.flatnonzero(arrives)
    since = np.concatenate(([arrival[0] - samples_per_packet / fs], arrival[got][:-1]))
    share = (np.arange(samples_per_packet) + 1) / samples_per_packet
    stamps = since[:, None] + (arrival[got] - since)[:, None] * share[None, :]
    kept = np.flatnonzero(arrives[packet])
    data = sent[:, kept].copy()
    data[timestamp_row] = stamps.ravel()
    data[package_row] = packet[kept] % modulo
    return PacketStream(data=data, kept=kept, lost_packets=int(n_packets - got.size))
