"""A small dependency-free progress bar for long runs (writes to stderr).

``progress(iterable, total=..., desc=...)`` yields the items and redraws one status line;
``enabled=None`` (the default) shows it only when stderr is a terminal or the environment
variable ``WAVEBP_PROGRESS=1`` is set, so logs and tests stay clean.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

__all__ = ["Progress", "progress"]

T = TypeVar("T")


def _enabled_default() -> bool:
    flag = os.environ.get("WAVEBP_PROGRESS")
    if flag is not None:
        return flag not in ("0", "", "false", "no")
    return sys.stderr.isatty()


class Progress:
    """A status line ``desc  37% |█████     | 37/100 [00:03<00:05, 12.1 it/s] loss=0.3``.

    Args:
        total: number of steps (``None`` if unknown).
        desc: a short label.
        enabled: draw the bar; ``None`` = only on a terminal or with ``WAVEBP_PROGRESS=1``.
        min_interval_s: minimum seconds between redraws.
    """

    def __init__(
        self,
        total: int | None = None,
        *,
        desc: str = "",
        enabled: bool | None = None,
        min_interval_s: float = 0.2,
    ) -> None:
        self.total = total
        self.desc = desc
        self.enabled = _enabled_default() if enabled is None else enabled
        self.min_interval_s = min_interval_s
        self.n = 0
        self.postfix = ""
        self._start = time.perf_counter()
        self._last = 0.0

    def update(self, n: int = 1, **postfix: float | str) -> None:
        """Advance by ``n`` steps and set the values shown after the bar."""
        self.n += n
        if postfix:
            self.postfix = " ".join(
                f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in postfix.items()
            )
        now = time.perf_counter()
        done = self.total is not None and self.n >= self.total
        if self.enabled and (now - self._last >= self.min_interval_s or done):
            self._last = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        elapsed = now - self._start
        rate = self.n / elapsed if elapsed > 0 else 0.0
        if self.total:
            frac = min(self.n / self.total, 1.0)
            width = 20
            bar = "█" * int(frac * width) + " " * (width - int(frac * width))
            eta = (self.total - self.n) / rate if rate > 0 else 0.0
            text = (
                f"{self.desc} {frac:4.0%} |{bar}| {self.n}/{self.total} "
                f"[{elapsed:5.1f}s<{eta:5.1f}s, {rate:.3g} it/s] {self.postfix}"
            )
        else:
            text = f"{self.desc} {self.n} [{elapsed:5.1f}s, {rate:.3g} it/s] {self.postfix}"
        sys.stderr.write("\r" + text[:150].ljust(80))
        sys.stderr.flush()

    def close(self) -> None:
        """Finish the line."""
        if self.enabled:
            self._draw(time.perf_counter())
            sys.stderr.write("\n")
            sys.stderr.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress(
    iterable: Iterable[T],
    *,
    total: int | None = None,
    desc: str = "",
    enabled: bool | None = None,
) -> Iterator[T]:
    """Iterate over ``iterable`` while drawing a :class:`Progress` bar."""
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    with Progress(total, desc=desc, enabled=enabled) as bar:
        for item in iterable:
            yield item
            bar.update()
