"""GSM8K exact match on the final number (lm-evaluation-harness strict and flexible extractors)."""

from __future__ import annotations
