"""HarmBench, AdvBench, OR-Bench, SORRY-Bench and WildGuardTest adapters."""

from __future__ import annotations
