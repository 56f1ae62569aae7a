"""Acoustic features from speech intervals: long silences, overtalk, agent loudness."""

from __future__ import annotations

from transcriber.acoustic import AcousticCollector, intersect, union


def test_interval_algebra() -> None:
    assert union([(5, 6), (0, 2), (1, 3)]) == [(0, 3), (5, 6)]
    assert intersect([(0, 4), (6, 10)], [(3, 7)]) == [(3, 4), (6, 7)]


def test_features_of_a_call() -> None:
    c = AcousticCollector()
    c.add_speech("agent", [(0.0, 5.0), (20.0, 25.0)])
    c.add_speech("customer", [(4.0, 4.5), (22.0, 30.0)])  # 0.5 s backchannel, then 3 s of overtalk
    for start, db in ((0.0, -20.0), (20.0, -8.0), (40.0, -22.0)):
        c.add_agent_level(start, start + 5, db)
    out = c.result(duration_s=45.0)
    assert out["long_silences"] == [{"start": 5.0, "end": 20.0}, {"start": 30.0, "end": 45.0}]
    assert out["overtalk"] == [{"start": 22.0, "end": 25.0}]
    assert out["agent_baseline_db"] == -20.0
    assert [x["db"] for x in out["agent_loudness"]] == [-20.0, -8.0, -22.0]
