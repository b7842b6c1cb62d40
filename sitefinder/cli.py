"""Command line: ``sitefinder <command> ...``. Thin: parse, validate, call one library function.

Every command module in ``sitefinder.commands`` has ``add_parser(subparsers)`` and
``run(args) -> int``. A :class:`~sitefinder.errors.SitefinderError` becomes one line on
stderr and exit status 2; the traceback is shown only with ``-v``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

from sitefinder import __version__
from sitefinder.errors import SitefinderError

log = logging.getLogger("sitefinder")

#: Command modules, in the order ``--help`` lists them.
COMMANDS = ("run", "compare", "refresh", "sample", "profiles", "select", "explain", "categories")


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the epilog's line breaks and shows defaults where there is one worth saying."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            "%(default)" not in text
            and default not in (None, False, [], argparse.SUPPRESS)
            and action.option_strings
            and not isinstance(action, argparse._CountAction)
        ):
            text += " (default: %(default)s)"
        return text


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every command's subparser."""
    parser = argparse.ArgumentParser(
        prog="sitefinder",
        description="Find and compare locations for housing-with-care (wonen en zorg) initiatives.",
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"sitefinder {__version__}")
    top = parser.add_mutually_exclusive_group()
    top.add_argument(
        "-v",
        "--verbose",
        dest="top_verbose",
        action="count",
        default=0,
        help="more output (-vv for debug); shows tracebacks on errors",
    )
    top.add_argument("-q", "--quiet", dest="top_quiet", action="store_true", help="only warnings and errors")
    common = argparse.ArgumentParser(add_help=False)
    grp = common.add_mutually_exclusive_group()
    grp.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="more output (-vv for debug); shows tracebacks on errors",
    )
    grp.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        mod = importlib.import_module(f"sitefinder.commands.{name}")
        mod.add_parser(sub, common, _Formatter)
    return parser


class _CliHandler(logging.StreamHandler):
    """The handler ``main`` installs on the root logger (and removes again when it returns)."""


def _setup_logging(verbose: int, quiet: bool) -> Callable[[], None]:
    """Log to stderr for one command; return the function that restores the previous state.

    Handlers that others installed (a notebook's, pytest's) are left in place; only a
    handler of an earlier ``main`` call is replaced.
    """
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    handler = _CliHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s" if verbose else "%(message)s"))
    root = logging.getLogger()
    pkg = logging.getLogger("sitefinder")
    saved = (root.level, pkg.level)
    for h in [h for h in root.handlers if isinstance(h, _CliHandler)]:
        root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    pkg.setLevel(level)
    logging.captureWarnings(True)

    def restore() -> None:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        pkg.setLevel(saved[1])
        logging.captureWarnings(False)

    return restore


class _Interrupt:
    """A SIGINT handler that remembers it fired.

    Ctrl-C during an import of a C extension (numpy, GDAL) can surface as an
    ``ImportError`` instead of ``KeyboardInterrupt``; with the flag set, whatever
    exception the interrupt turned into is reported as the interruption it was.
    """

    def __init__(self) -> None:
        self.fired = False

    def __call__(self, signum: int, frame: object) -> None:
        self.fired = True
        raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sitefinder`` command; returns the exit status."""
    import signal
    import threading

    from sitefinder.memory import tune_allocator

    tune_allocator()
    interrupt = _Interrupt()
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, interrupt) if main_thread else None
    try:
        return _main(argv)
    except KeyboardInterrupt:  # also while the command modules are still being imported
        print("sitefinder: interrupted; previous outputs are left as they were", file=sys.stderr)
        return 130
    except Exception:
        if not interrupt.fired:
            raise
        print("sitefinder: interrupted; previous outputs are left as they were", file=sys.stderr)
        return 130
    finally:
        if main_thread:
            signal.signal(signal.SIGINT, previous)


def _redirect_for_bar(quiet: bool) -> contextlib.AbstractContextManager[Any]:
    """Route log lines around tqdm's progress bar, when a bar can be shown (not ``-q``, stderr a terminal).

    Otherwise a no-op, and tqdm (with asyncio behind it) is not imported at all.
    """
    if quiet or not sys.stderr.isatty():
        return contextlib.nullcontext()
    from tqdm.contrib.logging import logging_redirect_tqdm

    return logging_redirect_tqdm()


def _main(argv: Sequence[str] | None) -> int:
    from sitefinder.io.localonly import disable_gdal_network

    disable_gdal_network()  # local inputs never need GDAL's network access
    parser = build_parser()
    args = parser.parse_args(argv)
    # -v/-q work before the command (sitefinder -q run ...) and after it.
    verbose = max(getattr(args, "verbose", 0), args.top_verbose)
    quiet = getattr(args, "quiet", False) or args.top_quiet
    restore_logging = _setup_logging(verbose, quiet)
    # Imported only now: --help and --version stay fast (no pydantic, no tqdm).
    from pydantic import ValidationError

    try:
        with _redirect_for_bar(quiet):  # log lines and the progress bar don't garble each other
            return int(args.func(args) or 0)
    except SitefinderError as exc:
        if verbose:
            log.exception("failed")
        print(f"sitefinder: error: {exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        if verbose:
            log.exception("failed")
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or exc.title
        print(f"sitefinder: error: {loc}: {err['msg'].removeprefix('Value error, ')}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sitefinder: interrupted; previous outputs are left as they were", file=sys.stderr)
        return 130
    finally:
        restore_logging()


if __name__ == "__main__":
    sys.exit(main())
