"""A one-line progress bar for long commands, on stderr and only when stderr is a terminal.

    progress = Progress("backfill", total=2500, unit="entries")
    progress.update(1000, note="page 1/3")   # redrawn at most ten times a second
    progress.close()                          # final state, then a newline

Piped or redirected (a Kubernetes job, a CI log), it draws nothing: the command's summary on
stdout is the record. No dependency: a carriage return and a padded line are all it takes.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

REDRAW_SECONDS = 0.1


class Progress:
    """Progress towards `total` (unknown: None) of something counted in `unit`."""

    def __init__(
        self,
        label: str,
        total: int | None = None,
        *,
        unit: str = "entries",
        stream: TextIO | None = None,
        width: int = 30,
    ) -> None:
        self.label = label
        self.total = total
        self.unit = unit
        self.done = 0
        self.note = ""
        self._stream = stream if stream is not None else sys.stderr
        self._enabled = _is_tty(self._stream)
        self._width = width
        self._started = time.monotonic()
        self._drawn_at = 0.0
        self._line_length = 0
        self._base = 0

    def start_at(self, done: int) -> None:
        """Work already done before this run (a resumed backfill): counted, not in the rate."""
        self.done = self._base = done

    def update(self, done: int, *, total: int | None = None, note: str | None = None) -> None:
        """Set the amount done (and the total or note, when given); redraw if due."""
        self.done = done
        if total is not None:
            self.total = total
        if note is not None:
            self.note = note
        now = time.monotonic()
        if now - self._drawn_at >= REDRAW_SECONDS or self._finished():
            self._drawn_at = now
            self._draw()

    def close(self) -> None:
        """Draw the final state and end the line (nothing when not on a terminal)."""
        if self._enabled and self._line_length:
            self._draw()
            self._stream.write("\n")
            self._stream.flush()
            self._line_length = 0

    def render(self) -> str:
        """The bar as text, e.g. `backfill [######......] 40% 1000/2500 entries 310/s page 1/3`."""
        elapsed = max(time.monotonic() - self._started, 1e-9)
        rate = (self.done - self._base) / elapsed
        parts = [self.label]
        if self.total:
            share = min(self.done / self.total, 1.0)
            filled = round(share * self._width)
            parts.append(f"[{'#' * filled}{'.' * (self._width - filled)}] {share:4.0%}")
            parts.append(f"{self.done}/{self.total} {self.unit}")
            if rate > 0 and self.done < self.total:
                parts.append(f"{rate:.0f}/s, {(self.total - self.done) / rate:.0f}s left")
        else:
            parts.append(f"{self.done} {self.unit}, {rate:.0f}/s")
        if self.note:
            parts.append(self.note)
        return " ".join(parts)

    def _finished(self) -> bool:
        return self.total is not None and self.done >= self.total

    def _draw(self) -> None:
        if not self._enabled:
            return
        line = self.render()
        padding = " " * max(self._line_length - len(line), 0)
        self._stream.write(f"\r{line}{padding}")
        self._stream.flush()
        self._line_length = len(line)


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or odd stream: no bar
        return False


def page_note(page: int, total: int | None, page_size: int) -> str:
    """`page 2/5` (or `page 2` when awork did not say how many entries there are)."""
    if total is None:
        return f"page {page}"
    return f"page {page}/{max(-(-total // page_size), page)}"
