"""``rlhf-eval import``: lm-evaluation-harness and Inspect logs to run directories."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``import`` subcommand (filled in by the interop work)."""
    del sub
