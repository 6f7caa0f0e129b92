"""IFEval verifiable instructions: prompt- and instruction-level, strict and loose accuracy."""

from __future__ import annotations
