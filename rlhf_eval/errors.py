"""User-facing error types; the CLI maps each to one line on stderr and an exit code.

Exit codes (also in README and ``rlhf-eval --help``): 0 pass, 1 a gate failed, 2 bad input
or usage, 3 inconclusive, 4 the model backend failed.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_GATE_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INCONCLUSIVE = 3
EXIT_BACKEND = 4


class RlhfEvalError(Exception):
    """Base class: an error with a one-line message meant for the user."""

    exit_code = EXIT_BAD_INPUT


class UserError(RlhfEvalError):
    """Bad input or usage (missing file, malformed YAML, a bad field): exit 2.

    The message names the file, row or field, e.g. ``items.jsonl:12: field 'gold' ...``.
    """

    exit_code = EXIT_BAD_INPUT


class BackendError(RlhfEvalError):
    """The model backend failed (load error, server down after retries): exit 4."""

    exit_code = EXIT_BACKEND
