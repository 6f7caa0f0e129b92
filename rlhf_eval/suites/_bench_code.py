"""HumanEval, MBPP and IFEval adapters."""

from __future__ import annotations
