"""Progress lines on stderr: redrawn in place on a terminal, throttled otherwise."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

from vs_common.sampling import Progress

__all__ = ["BatchProgress", "ProgressLine", "format_duration", "sampling_progress"]


def format_duration(seconds: float) -> str:
    """A short human duration.

    Example:
        >>> format_duration(42), format_duration(125), format_duration(7322)
        ('42s', '2m05s', '2h02m')
    """
    s = max(0, round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


class ProgressLine:
    """One status line on ``stream``.

    On a terminal the line is redrawn in place (carriage return); otherwise
    a new line is written at most every ``interval`` seconds (and always for
    the final one), so logs stay short.

    Args:
        stream: Usually ``sys.stderr``.
        interval: Seconds between lines when not on a terminal.
        clock: Monotonic clock (tests pass a fake).
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.interval = interval if not self.tty else 0.1
        self.clock = clock
        self._last: float | None = None
        self._width = 0

    def show(self, text: str, *, final: bool = False) -> None:
        """Show ``text``; throttled unless ``final``."""
        now = self.clock()
        if not final and self._last is not None and now - self._last < self.interval:
            return
        self._last = now
        if self.tty:
            pad = " " * max(0, self._width - len(text))
            self.stream.write("\r" + text + pad + ("\n" if final else ""))
            self._width = 0 if final else len(text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


def sampling_progress(line: ProgressLine, label: str = "sampling") -> Callable[[Progress], None]:
    r"""An ``on_progress`` callback for :func:`vs_common.run_sampling`.

    Example:
        >>> import io
        >>> out = io.StringIO()
        >>> sampling_progress(ProgressLine(out))(Progress(2, 6, 10, 0))
        >>> out.getvalue()
        'sampling: call 2/6, 10 candidates, 0 failed\n'
    """

    def report(progress: Progress) -> None:
        text = (
            f"{label}: call {progress.calls_done}/{progress.calls_planned},"
            f" {progress.candidates} candidates, {progress.failures} failed"
        )
        line.show(text, final=progress.calls_done >= progress.calls_planned)

    return report


class BatchProgress:
    """Counts of a batch run, with rate and ETA.

    Args:
        line: Where to show them.
        total: Prompts in the input (non-blank lines), or None if unknown.
        clock: Monotonic clock (tests pass a fake).
    """

    def __init__(
        self,
        line: ProgressLine,
        total: int | None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.line = line
        self.total = total
        self.clock = clock
        self.start = clock()
        self.written = 0
        self.failed = 0
        self.skipped = 0

    @property
    def processed(self) -> int:
        """Prompts sampled in this run (written or failed)."""
        return self.written + self.failed

    def text(self) -> str:
        """The status line.

        Example:
            >>> import io
            >>> t = iter([0.0, 10.0])
            >>> p = BatchProgress(ProgressLine(io.StringIO()), 100, clock=lambda: next(t))
            >>> p.written, p.skipped = 20, 30
            >>> p.text()
            'batch: 50/100 (20 written, 0 failed, 30 already done), 2.00 prompts/s, ETA 25s'
        """
        done = self.processed + self.skipped
        elapsed = max(1e-9, self.clock() - self.start)
        rate = self.processed / elapsed
        head = f"batch: {done}/{self.total}" if self.total is not None else f"batch: {done}"
        text = (
            f"{head} ({self.written} written, {self.failed} failed,"
            f" {self.skipped} already done), {rate:.2f} prompts/s"
        )
        if self.total is not None and rate > 0:
            remaining = max(0, self.total - done)
            text += f", ETA {format_duration(remaining / rate)}"
        return text

    def update(self, *, final: bool = False) -> None:
        """Redraw (throttled unless ``final``)."""
        self.line.show(self.text(), final=final)
