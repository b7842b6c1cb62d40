"""``--cpu-durations=N``: the N tests that used the most CPU time (this process and its children).

On a machine shared with other work the wall-clock ``--durations`` table mostly measures the
load; CPU seconds (user + system of the test process plus the children it waited for, such as
a browser or a subprocess CLI run) are a fair figure for a single-threaded test: on an idle
machine its wall time is about its CPU time. Setup, call and teardown are counted together, so
a session fixture's cost lands on the first test that needs it.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Generator
from pathlib import Path

import pytest


def _cpu_s() -> tuple[float, float]:
    """CPU seconds of this process and of its waited-for children, and wall seconds."""
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime, time.perf_counter()


_times: dict[str, tuple[float, float]] = {}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cpu durations")
    group.addoption(
        "--cpu-durations",
        type=int,
        default=None,
        metavar="N",
        help="show the N tests that used the most CPU seconds (0 for all)",
    )
    group.addoption(
        "--cpu-durations-file",
        default=None,
        metavar="PATH",
        help="also write every test's CPU and wall seconds to PATH (tab-separated)",
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, None, None]:
    cpu0, wall0 = _cpu_s()
    yield
    cpu1, wall1 = _cpu_s()
    _times[item.nodeid] = (cpu1 - cpu0, wall1 - wall0)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    n = config.getoption("--cpu-durations")
    path = config.getoption("--cpu-durations-file")
    if not _times or (n is None and path is None):
        return
    rows = sorted(_times.items(), key=lambda kv: kv[1][0], reverse=True)
    if path is not None:
        worker = os.environ.get("PYTEST_XDIST_WORKER")
        target = Path(path if worker is None else f"{path}.{worker}")
        target.write_text(
            "".join(f"{cpu:.2f}\t{wall:.2f}\t{nodeid}\n" for nodeid, (cpu, wall) in rows), encoding="utf-8"
        )
    if n is None:
        return
    total = sum(cpu for cpu, _ in _times.values())
    terminalreporter.write_sep("=", f"CPU seconds per test (total {total:.1f} s over {len(rows)} tests)")
    for nodeid, (cpu, wall) in rows[: n or None]:
        terminalreporter.write_line(f"{cpu:8.2f} cpu {wall:8.2f} wall  {nodeid}")
