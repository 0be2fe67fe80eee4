"""The ``wavebp`` command. Each subcommand lives in its own module ``wavebp/cli/_<name>.py``
exposing ``NAME``, ``HELP``, ``EXAMPLES``, ``add_arguments(parser)`` and ``run(args) -> int``;
it fills a frozen config from the arguments, writes a run folder and prints where.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

__all__ = ["build_parser", "main"]

# Subcommand modules, in the order ``wavebp --help`` lists them.
_COMMANDS: tuple[str, ...] = (
    "wavebp.cli._demo",
    "wavebp.cli._train",
    "wavebp.cli._paper",
    "wavebp.cli._reciprocity",
    "wavebp.cli._codesign",
    "wavebp.cli._coupler_table",
    "wavebp.cli._sweep",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``wavebp`` with every subcommand registered."""
    modules = [importlib.import_module(name) for name in _COMMANDS]
    examples = "\n".join(f"  {line}" for m in modules for line in m.EXAMPLES)
    parser = argparse.ArgumentParser(
        prog="wavebp",
        description="Neural networks as wave-propagation hardware, trained by physical "
        "(adjoint, time-reversed) backpropagation.",
        epilog=f"examples:\n{examples}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from wavebp import __version__

    parser.add_argument("--version", action="version", version=f"wavebp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in modules:
        p = sub.add_parser(
            module.NAME,
            help=module.HELP,
            description=module.HELP,
            epilog="examples:\n" + "\n".join(f"  {line}" for line in module.EXAMPLES),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``wavebp`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
