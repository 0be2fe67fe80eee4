"""Argument types shared by the subcommands: comma-separated lists with clear errors."""

from __future__ import annotations

import argparse
from collections.abc import Callable

__all__ = ["choice_list", "float_list"]


def _parts(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def float_list(option: str) -> Callable[[str], tuple[float, ...]]:
    """An argparse ``type`` for ``option``: comma-separated numbers, at least one."""

    def parse(text: str) -> tuple[float, ...]:
        try:
            values = tuple(float(part) for part in _parts(text))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{option} takes comma-separated numbers (e.g. 0,2,5,10), got {text!r}"
            ) from None
        if not values:
            raise argparse.ArgumentTypeError(f"{option} needs at least one number, got {text!r}")
        return values

    return parse


def choice_list(option: str, allowed: tuple[str, ...]) -> Callable[[str], tuple[str, ...]]:
    """An argparse ``type`` for ``option``: a comma-separated, non-empty subset of ``allowed``."""

    def parse(text: str) -> tuple[str, ...]:
        values = _parts(text)
        if not values or any(v not in allowed for v in values):
            raise argparse.ArgumentTypeError(
                f"{option} takes a comma-separated subset of {','.join(allowed)}, got {text!r}"
            )
        return values

    return parse
