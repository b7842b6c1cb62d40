"""``--cpu-durations=N``: the N tests that used the most CPU time (this process and its children).

On a machine shared with other work the wall-clock ``--durations`` table mostly measures the
load; CPU seconds (user + system of the test process plus the children it waited for, such as
a browser or a subprocess CLI run) are a fair figure for a single-threaded test: on an idle
machine its wall time is about its CPU time. Setup, call and teardown are counted together, so
a session fixture's cost lands on the first test that needs it. Works with pytest-xdist too
(each phase's CPU seconds travel with its report).
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

_PHASE_CPU = pytest.StashKey[dict[str, float]]()
_times: dict[str, list[float]] = {}
_workers: dict[str, str] = {}


def _cpu_s() -> float:
    """CPU seconds of this process and of its waited-for children."""
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


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
        help="also write every test's CPU and wall seconds and its xdist worker to PATH (tab-separated)",
    )


def _measure(item: pytest.Item, when: str) -> Generator[None, None, None]:
    start = _cpu_s()
    yield
    item.stash.setdefault(_PHASE_CPU, {})[when] = _cpu_s() - start


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    yield from _measure(item, "setup")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    yield from _measure(item, "call")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    yield from _measure(item, "teardown")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Generator[None, Any, None]:
    outcome = yield
    cpu = item.stash.get(_PHASE_CPU, {}).get(call.when)
    if cpu is not None:
        outcome.get_result().user_properties.append((f"cpu_s_{call.when}", cpu))
    if call.when == "setup":
        outcome.get_result().user_properties.append(("worker", os.environ.get("PYTEST_XDIST_WORKER", "main")))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    props = dict(report.user_properties)
    cpu = props.get(f"cpu_s_{report.when}")
    if "worker" in props:
        _workers[report.nodeid] = str(props["worker"])
    row = _times.setdefault(report.nodeid, [0.0, 0.0])
    row[0] += float(cpu) if isinstance(cpu, (int, float)) else 0.0
    row[1] += report.duration


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    n = config.getoption("--cpu-durations")
    path = config.getoption("--cpu-durations-file")
    if not _times or (n is None and path is None):
        return
    rows = sorted(_times.items(), key=lambda kv: kv[1][0], reverse=True)
    if path is not None:
        Path(path).write_text(
            "".join(
                f"{cpu:.2f}\t{wall:.2f}\t{_workers.get(nodeid, 'main')}\t{nodeid}\n"
                for nodeid, (cpu, wall) in rows
            ),
            encoding="utf-8",
        )
    if n is None:
        return
    total = sum(cpu for cpu, _ in _times.values())
    terminalreporter.write_sep("=", f"CPU seconds per test (total {total:.1f} s over {len(rows)} tests)")
    for nodeid, (cpu, wall) in rows[: n or None]:
        terminalreporter.write_line(f"{cpu:8.2f} cpu {wall:8.2f} wall  {nodeid}")
