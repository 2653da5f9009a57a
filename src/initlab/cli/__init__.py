"""The `initlab` command (floor 8): one subcommand per module in this package.

Each module here that defines `register(subparsers)` adds its subcommands; `register` sets
`func` on its parser, called with the parsed args and returning an exit status.
Errors print one line without a traceback (`--debug` shows it): status 2 for usage errors
(unknown names, invalid values), 1 for runtime failures (missing files, divergence, ...).
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from threadpoolctl import threadpool_limits

from ..errors import InitlabError, InvalidValueError, UnknownNameError

USAGE_ERRORS = (UnknownNameError, InvalidValueError)


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="initlab",
        description="A NumPy CNN and a lab for how convolution filters are initialized and learned.",
    )
    parser.add_argument("--version", action="version", version=f"initlab {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    parser.add_argument("--threads", type=int, default=1, metavar="N",
                        help="BLAS threads (default 1: initlab's matrices are small, and a second "
                             "thread was measured to slow them down several times on 2 cores)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = [importlib.import_module(f"{__name__}.{m.name}")
               for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")]
    for module in sorted(modules, key=lambda m: getattr(m, "ORDER", 100)):
        if hasattr(module, "register"):
            module.register(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        if args.threads < 1:
            raise InvalidValueError(f"--threads: expected an integer >= 1, got {args.threads}")
        with threadpool_limits(limits=args.threads, user_api="blas"):
            return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("initlab: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one line for the user; the traceback with --debug
        if args.debug or not isinstance(exc, (InitlabError, OSError)):
            raise
        print(f"initlab: error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, USAGE_ERRORS) else 1


if __name__ == "__main__":
    sys.exit(main())
