"""ARC-Easy/Challenge, HellaSwag and GSM8K adapters, scored as lm-evaluation-harness scores them."""

from __future__ import annotations
