"""Interop: other tools' per-sample logs (lm-evaluation-harness, Inspect) imported as run directories."""
