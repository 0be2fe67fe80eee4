"""A tiny stderr progress indicator for long runs (no tqdm dependency)."""

from __future__ import annotations

import sys
import time

__all__ = ["Progress"]


class Progress:
    """Prints ``label: k/n (p%) elapsed`` to stderr about every 2 % when enabled."""

    def __init__(self, total: int, *, label: str, enabled: bool) -> None:
        self.total = max(int(total), 1)
        self.label = label
        self.enabled = enabled
        self._next = 0
        self._shown = 0
        self._t0 = time.perf_counter()

    def update(self, done: int) -> None:
        """Report that ``done`` of ``total`` steps are finished."""
        if not self.enabled or done < self._next:
            return
        self._next = done + max(self.total // 50, 1)
        self._shown = done
        elapsed = time.perf_counter() - self._t0
        pct = 100.0 * done / self.total
        sys.stderr.write(f"\r{self.label}: {done}/{self.total} ({pct:5.1f}%) {elapsed:7.1f} s")
        if done >= self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    def close(self) -> None:
        """Finish the line."""
        if self.enabled and self._shown < self.total:
            self._next = 0
            self.update(self.total)
