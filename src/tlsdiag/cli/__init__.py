"""Command line entry point: one module per subcommand, each with ``register``.

Exit status: 0 nothing found / success, 1 a diagnosis or finding was made,
2 unusable input or usage error (one line, no traceback unless --debug).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from tlsdiag import __version__
from tlsdiag.errors import InputError, KnowledgeBaseError

# Subcommand modules in the order --help lists them. Each defines
# ``register(subparsers) -> None`` and sets ``func(args) -> int`` on its parser.
COMMANDS = ["scan", "explain", "events", "stores", "kb", "tui", "collector"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tlsdiag",
        description="Diagnose Windows TLS (Schannel) failures caused by certificate-store mistakes "
        "from collected event logs and certificate-store exports.",
    )
    parser.add_argument("--version", action="version", version=f"tlsdiag {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"tlsdiag.cli.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args))
    except (InputError, KnowledgeBaseError) as exc:
        if args.debug:
            raise
        from tlsdiag import textsafe  # the message names a path, and paths can carry escapes

        print(f"tlsdiag: error: {textsafe.one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tlsdiag: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
