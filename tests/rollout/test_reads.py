"""A plan's reads of the workspace go out together, and come back as if made one after another."""

from __future__ import annotations

import threading

import pytest

from amlops.rollout.reads import read_all


def test_reads_are_in_flight_together() -> None:
    """Each read waits for all the others to have started: reads made one after another never get past the first."""
    keys = ["a", "b", "c"]
    together = threading.Barrier(len(keys), timeout=30)

    def read(key: str) -> str:
        together.wait()
        return key.upper()

    assert read_all(read, keys) == {"a": "A", "b": "B", "c": "C"}


def test_keys_keep_their_order_once_each_and_the_first_error_is_raised() -> None:
    assert list(read_all(str.upper, ["b", "a", "b", "c"])) == ["b", "a", "c"]

    def read(key: int) -> int:
        if key in (2, 3):
            raise KeyError(key)
        return key

    with pytest.raises(KeyError) as raised:
        read_all(read, [1, 2, 3])
    assert raised.value.args == (2,)
