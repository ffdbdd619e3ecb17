"""Records written to tags stay within Azure's 256 characters and read back as written."""

from __future__ import annotations

import pytest

from amlops.state.record import (
    MAX_TAG,
    Lock,
    Measurement,
    Previous,
    RolloutRecord,
    Status,
    StepMeasurement,
    decode_measured,
    encode_measured,
)


def test_rollout_record_round_trips_compactly():
    record = RolloutRecord("0123456789abcdef", "fedcba9876543210", {"main-1a2b3c4d": 60, "main-5e6f7a8b": 40}, 2, 1_700_000_000)
    text = record.encode()
    assert len(text) <= MAX_TAG
    assert RolloutRecord.decode(text) == record
    assert RolloutRecord.decode("not json") is None and RolloutRecord.decode(None) is None


def test_a_record_too_long_for_a_tag_is_refused_not_cut():
    base = {f"deployment-{i:02d}-1a2b3c4d5e6f7a8b": 1 for i in range(10)}
    with pytest.raises(ValueError, match="256"):
        RolloutRecord("a" * 16, None, base, 0, 0, Status.running).encode()


def test_measurements_keep_the_newest_within_the_limit():
    items = [StepMeasurement(i, Measurement(10_000 + i, i, 123.456), True) for i in range(30)]
    text = encode_measured(items)
    assert len(text) <= MAX_TAG
    decoded = decode_measured(text)
    assert decoded[-1] == StepMeasurement(29, Measurement(10_029, 29, 123.5), True)
    assert decode_measured("garbage") == []


def test_lock_and_previous_round_trip():
    assert Lock.decode(Lock("host/123/abcd", 1_700_000_000).encode()) == Lock("host/123/abcd", 1_700_000_000)
    assert Lock.decode("") is None
    assert Previous.decode(Previous("0123456789abcdef", "deadbeef").encode()) == Previous("0123456789abcdef", "deadbeef")
    assert Previous.decode("0123456789abcdef@") == Previous("0123456789abcdef", None)
