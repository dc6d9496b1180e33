"""The ``gpusmote`` command: ``demo``, ``resample``, ``bench`` and ``info``.

Parts: `_parser` (arguments), `_commands` (what each command does), `_files` (reading
and atomically writing tables), `_progress`, `_plot`; and two public modules the
scripts use too: `gpusmote.cli.demo` (the fraud-style experiment) and
`gpusmote.cli.bench` (benchmark helpers and data).
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def main(argv=None) -> int:
    from ._parser import build_parser

    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
