"""Several reads of the workspace at once, for a plan: each waits on Azure (or the local control plane), not
on this process, so a dozen asset versions read one after another cost a dozen round trips (about half a
second of a re-apply on local) where read together they cost about one."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from amlops.workspace.interface import READERS

K = TypeVar("K")
V = TypeVar("V")


def read_all(read: Callable[[K], V], keys: Iterable[K]) -> dict[K, V]:
    """`{key: read(key)}` for each distinct key, in the keys' order; the first key's error, in that order, is raised."""
    distinct = list(dict.fromkeys(keys))
    if len(distinct) < 2:
        return {key: read(key) for key in distinct}
    with ThreadPoolExecutor(min(READERS, len(distinct)), thread_name_prefix="read") as pool:
        return dict(zip(distinct, pool.map(read, distinct), strict=True))
