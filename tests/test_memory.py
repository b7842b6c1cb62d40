"""Freed memory goes back to the operating system (sitefinder.memory)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from sitefinder import memory
from sitefinder.memory import _malloc_trim, release_memory


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")  # pragma: no cover


@pytest.mark.skipif(_malloc_trim() is None, reason="glibc's malloc_trim is only on Linux with glibc")
def test_freed_heap_memory_is_returned() -> None:
    # 240 MB in 30,000 blocks of 8 kB (below glibc's mmap threshold, so on the heap), then
    # one block allocated after them keeps the heap's top in place: free() alone cannot
    # shrink the heap, malloc_trim gives the free pages in the middle back.
    blocks = [bytearray(8000) for _ in range(30_000)]
    pin = bytearray(8000)
    for b in blocks:
        b[::4096] = b"\x01" * len(b[::4096])  # touch every page
    before = _rss_mb()
    del blocks
    freed = _rss_mb()
    assert release_memory() is True
    after = _rss_mb()
    assert before - freed < 0.5 * 240, "free() alone gave most memory back: the test cannot see malloc_trim"
    assert freed - after > 150, (before, freed, after)
    del pin


def test_without_glibc_it_only_collects(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    _malloc_trim.cache_clear()
    try:
        assert release_memory() is False
    finally:
        monkeypatch.undo()
        _malloc_trim.cache_clear()


def test_allocator_thresholds_are_set_unless_the_environment_sets_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[int, int]] = []

    def mallopt(param: int, value: int) -> int:
        calls.append((param, value))
        return 1

    monkeypatch.setattr(memory, "_mallopt", lambda: mallopt)
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    assert memory.tune_allocator() is True
    assert calls == [(-3, 4 * 2**20), (-1, 16 * 2**20)]  # M_MMAP_THRESHOLD, M_TRIM_THRESHOLD
    calls.clear()
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "1000000")
    assert memory.tune_allocator() is False and calls == []


@pytest.mark.skipif(_malloc_trim() is None, reason="glibc's mallopt is only on Linux with glibc")
def test_glibc_accepts_the_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    assert memory.tune_allocator() is True
