"""The ``rlhf-eval`` entry point: thin. Parses arguments, calls the API, maps errors to exit codes.

Each concern registers its own subcommands in ``rlhf_eval/<concern>/_cli.py`` through a
``register(subparsers)`` function, so adding a command is one new function, not an edit here.
Handlers import their heavy dependencies lazily, so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from rlhf_eval import __version__
from rlhf_eval.errors import EXIT_BAD_INPUT, RlhfEvalError

# Order here is the order of `rlhf-eval --help`.
_COMMAND_MODULES = (
    "rlhf_eval.runner._cli",
    "rlhf_eval.scoring._cli",
    "rlhf_eval.interop._cli",
    "rlhf_eval.compare._cli",
    "rlhf_eval.gate._cli",
    "rlhf_eval.audit._cli",
    "rlhf_eval.report._cli",
    "rlhf_eval.pipeline._cli",
)

_EPILOG = """\
examples:
  rlhf-eval demo                                   # the whole job on the embedded default model
  rlhf-eval run --model embedded:smollm2-135m-instruct --suite harmlessness --out runs/before
  rlhf-eval compare runs/before runs/after --out comparison.json
  rlhf-eval gate --comparison comparison.json --policy policy.yaml --junit junit.xml
  rlhf-eval audit --ratings ratings.csv --annotators annotators.csv --out audit.json
  rlhf-eval report --comparison comparison.json --audit audit.json --out reports/audit.html

exit codes:
  0 success / every gate rule passed   1 a gate rule failed   2 bad input or usage
  3 inconclusive (gate: too little data to decide)          4 the model backend failed
"""


class _Parser(argparse.ArgumentParser):
    """argparse that exits 2 with one line (its default) but never prints a traceback."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT)


def build_parser() -> argparse.ArgumentParser:
    """The full parser with every registered subcommand."""
    parser = _Parser(
        prog="rlhf-eval",
        description="Evaluate and audit the alignment of language models (before vs after RLHF).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"rlhf-eval {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (also used as the process exit status)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors: argparse already printed
        return int(exc.code or 0) if not isinstance(exc.code, str) else EXIT_BAD_INPUT
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    try:
        return int(args.func(args) or 0)
    except RlhfEvalError as exc:
        print(f"rlhf-eval {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("rlhf-eval: interrupted; completed work is cached, re-run to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
