"""BBQ adapter (bias in the model's own answers)."""

from __future__ import annotations
