"""The ``gpusmote`` command: ``demo``, ``resample``, ``bench`` and ``info``.

Parts: `_parser` (arguments), `_commands` (what each command does), `_files` (reading
and atomically writing tables), `_plot` (the `--plot` figure); the progress bar is the
library's (`gpusmote._progress`); and two public modules the scripts use too:
`gpusmote.cli.demo` (the fraud-style experiment) and `gpusmote.cli.bench` (benchmark
helpers and data).
"""

from __future__ import annotations

import os
import re
import signal
import sys
import threading

__all__ = ["main"]


class Terminated(BaseException):
    """SIGTERM (``timeout``, ``docker stop``, Kubernetes), raised where the command is,
    so that its clean-up runs as for any other failure."""


def _terminate(signum, frame):
    raise Terminated


# library hints in Python syntax, as the command's flags
_FLAGS = [
    (re.compile(r'\b(device|backend)="([^"]*)"'), r"--\1 \2"),
    (re.compile(r"`k_neighbors`"), "--k-neighbors"),
    (re.compile(r"`sampling_strategy`"), "--sampling-strategy"),
    (re.compile(r"`random_state`"), "--seed"),
    (re.compile(r"`(device|backend)`"), r"--\1"),
    (
        re.compile(r"For multi-class, use a dict\."),
        "For more than two classes, give rows per class: --sampling-strategy LABEL=N,LABEL=N.",
    ),
]


def _as_flags(message: str) -> str:
    for pattern, replacement in _FLAGS:
        message = pattern.sub(replacement, message)
    return " ".join(message.split())  # one line


def main(argv=None) -> int:
    """Run ``gpusmote ARGS``; returns the exit code. Failures print one line on stderr
    and return 2 (130 on Ctrl-C, 143 on SIGTERM): no traceback, no file left behind."""
    from ._parser import build_parser

    args = build_parser().parse_args(argv)
    name = f"gpusmote {args.command}"
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if main_thread else None
    try:
        return args.func(args)
    except (ValueError, TypeError, RuntimeError, ModuleNotFoundError) as exc:
        print(f"{name}: error: {_as_flags(str(exc))}", file=sys.stderr)
        return 2
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):  # a reader such as `head` stopped reading
            _quiet_stdout()
            return 141
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"{name}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print(f"{name}: terminated", file=sys.stderr)
        return 143
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so Python's flush at exit does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
