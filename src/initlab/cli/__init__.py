"""The `initlab` command (floor 8): one subcommand per module in this package.

Each module here that defines `register(subparsers)` adds its subcommands; `register` sets
`func` on its parser, called with the parsed args and returning an exit status.
Errors print one line without a traceback (`--debug` shows it): status 2 for usage errors
(unknown names, invalid values, sizes beyond the bounds or the memory), 1 for runtime failures
(missing files, divergence, ...).
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from threadpoolctl import threadpool_limits

from ..errors import InitlabError, InvalidValueError, UnknownNameError
from ._options import LIMITS_HELP, Parser, check_limits, count

USAGE_ERRORS = (UnknownNameError, InvalidValueError)
MAX_THREADS = 256


def add_global_options(parser, default=None):
    """--debug and --threads: before the command, and (default=SUPPRESS, so that they override
    nothing unless given) after it too."""
    parser.add_argument("--debug", action="store_true", default=default,
                        help="show the full traceback on errors")
    parser.add_argument("--threads", type=count, default=default, metavar="N",
                        help=f"BLAS threads, 1 to {MAX_THREADS} (default 1: initlab's matrices are small, and a "
                             "second thread was measured to slow them down several times on 2 cores)")


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = Parser(
        prog="initlab",
        description="A NumPy CNN and a lab for how convolution filters are initialized and learned.",
    )
    parser.add_argument("--version", action="version", version=f"initlab {__version__}")
    add_global_options(parser)
    parser.set_defaults(debug=False, threads=1)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    parser.set_defaults(command_parser=parser)
    modules = [importlib.import_module(f"{__name__}.{m.name}")
               for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")]
    for module in sorted(modules, key=lambda m: getattr(m, "ORDER", 100)):
        if hasattr(module, "register"):
            module.register(sub)
    for command in sub.choices.values():
        add_global_options(command, default=argparse.SUPPRESS)
        command.set_defaults(command_parser=command)     # its usage errors point at its help
        command.epilog = " ".join(filter(None, [command.epilog, LIMITS_HELP]))
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        args.command_parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        if not 1 <= args.threads <= MAX_THREADS:
            raise InvalidValueError(f"--threads: expected an integer from 1 to {MAX_THREADS}, got {args.threads}")
        check_limits(args)
        with threadpool_limits(limits=args.threads, user_api="blas"):
            return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("initlab: interrupted", file=sys.stderr)
        return 130
    except MemoryError as exc:      # a size the limits let through, but this machine cannot hold
        if args.debug:
            raise
        detail = f" ({exc})" if str(exc) else ""
        print(f"initlab: error: not enough memory for 'initlab {args.command}'{detail}: try smaller sizes "
              f"({getattr(args, 'sizes', 'the counts, depths and widths')})", file=sys.stderr)
        return 2
    except UnicodeError as exc:     # bytes on the command line that are not text (or an address)
        if args.debug:
            raise
        print(f"initlab: error: an argument is not valid text ({exc})", file=sys.stderr)
        return 2
    except Exception as exc:  # one line for the user; the traceback with --debug
        if args.debug or not isinstance(exc, (InitlabError, OSError)):
            raise
        print(f"initlab: error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, USAGE_ERRORS) else 1


if __name__ == "__main__":
    sys.exit(main())
