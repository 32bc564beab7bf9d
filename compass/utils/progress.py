"""Progress on long work: a redrawn bar on a terminal, plain log lines anywhere else.

A bar redraws itself with carriage returns; written to a file (CI, ``make demo > log``,
``nohup``) every redraw becomes text, thousands of bars per stage. So ``progress_bar`` looks at
where the bar would go: a terminal gets tqdm as is; anything else gets the same object
(``update``, ``set_postfix``, ``close``, iteration all work) that instead logs one line every
``LOG_EVERY_S`` seconds with the count, rate and ETA, and one when it closes.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from tqdm import tqdm

LOG_EVERY_S = 30.0


def progress_bar(*args: Any, **kwargs: Any) -> tqdm:
    """``tqdm(*args, **kwargs)`` on a terminal; a ``LogBar`` logging under the caller's module
    name otherwise."""
    file = kwargs.get("file") or sys.stderr
    if _is_terminal(file):
        return tqdm(*args, **kwargs)
    logger = logging.getLogger(sys._getframe(1).f_globals.get("__name__", __name__))
    return LogBar(*args, logger=logger, **kwargs)


def _is_terminal(file: Any) -> bool:
    try:
        return bool(file.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class _Discard:
    """Where tqdm's own drawing goes: the lines are logged instead."""

    def write(self, text: str) -> None:
        pass

    def flush(self) -> None:
        pass


class LogBar(tqdm):
    """A tqdm that logs ``desc: n/total unit (pct%), rate unit/s, ETA`` instead of redrawing."""

    def __init__(self, *args: Any, logger: logging.Logger | None = None, **kwargs: Any):
        self._log = logger or logging.getLogger(__name__)
        kwargs["file"] = _Discard()
        kwargs["mininterval"] = max(kwargs.get("mininterval") or 0.0, LOG_EVERY_S)
        kwargs["dynamic_ncols"] = False
        super().__init__(*args, **kwargs)

    def display(self, msg: str | None = None, pos: int | None = None) -> bool:
        # tqdm calls this on every redraw it lets through (at most every mininterval) and with
        # msg="" to clear the bar; only the former is news, and a bar at its start is not.
        if msg is None and not getattr(self, "_closing", False) and self.n > self._initial():
            self._log.info("%s", self.line())
        return True

    def close(self) -> None:
        if not self.disable and self.n > self._initial():
            self._log.info("%s", self.line(done=True))
        self._closing = True  # tqdm's closing redraw would repeat the line above
        super().close()

    def _initial(self) -> float:
        return self.format_dict.get("initial") or 0

    def line(self, done: bool = False) -> str:
        """One plain line: what, how far, how fast, how long to go."""
        d = self.format_dict
        unit, total, elapsed = d["unit"], d["total"], d["elapsed"]
        # The average since the start, not tqdm's smoothed rate: lines are far apart.
        rate = (d["n"] - self._initial()) / elapsed if elapsed > 0 else 0.0
        head = f"{d['prefix'] or 'progress'}: {d['n']}"
        if total:
            head += f"/{total} {unit} ({100 * d['n'] / total:.0f}%)"
        else:
            head += f" {unit}"
        parts = [head, f"{rate:.3g} {unit}/s"]
        if done:
            parts.append(f"took {self.format_interval(elapsed)}")
        elif total and rate > 0:
            parts.append(f"ETA {self.format_interval((total - d['n']) / rate)}")
        if d.get("postfix"):
            parts.append(str(d["postfix"]))
        return ", ".join(parts)
