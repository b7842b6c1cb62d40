"""Progress display for long runs: one tqdm bar over the pipeline's stages.

The bar goes to stderr and is shown only on a terminal (tqdm is imported only then), so
logs, CI output and tests stay clean; ``-q`` turns it off.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

log = logging.getLogger(__name__)


class StageProgress:
    """Counts the pipeline's stages and logs how long each took (at debug level).

    Parameters
    ----------
    stages : list of str
        The stage descriptions, in order (Dutch or English, shown as they are).
    enabled : bool
        False hides the bar (``-q``); True shows it when stderr is a terminal.
    """

    def __init__(self, stages: list[str], enabled: bool = True) -> None:
        self._stages = stages
        self._i = -1
        self._t = time.perf_counter()
        self._bar: Any = None
        # tqdm (and asyncio behind it) is imported only for a bar that is shown: on a terminal.
        if enabled and sys.stderr.isatty():
            from tqdm import tqdm

            self._bar = tqdm(
                total=len(stages), file=sys.stderr, leave=False,
                bar_format="{desc} [{n_fmt}/{total_fmt}] {bar:20} {elapsed}", dynamic_ncols=True,
            )  # fmt: skip

    def next(self) -> None:
        """Finish the current stage and start the next one."""
        now = time.perf_counter()
        if self._i >= 0:
            log.debug("stage %r took %.1f s", self._stages[self._i], now - self._t)
            if self._bar is not None:
                self._bar.update(1)
        self._t = now
        self._i += 1
        if self._i < len(self._stages) and self._bar is not None:
            self._bar.set_description_str(self._stages[self._i])

    def close(self) -> None:
        """Finish the last stage and remove the bar."""
        while self._i < len(self._stages):
            self.next()
        if self._bar is not None:
            self._bar.close()
