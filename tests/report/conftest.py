"""Fixtures writing realistic report inputs (run dirs, comparison, audit, gate) per docs/formats.md."""

from __future__ import annotations

from pathlib import Path

import pytest
from synthetic_inputs import write_all


@pytest.fixture(scope="session")
def inputs_dir(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Before/after runs of 200 samples, comparison.json, audit.json and gate.json (read-only use)."""
    return write_all(tmp_path_factory.mktemp("report_inputs"), n_samples=200, n_annotators=60, n_labels=6000)


@pytest.fixture(scope="session")
def xss_dir(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same inputs with script-injection payloads in responses, prompts, categories and ids."""
    return write_all(
        tmp_path_factory.mktemp("report_xss"), n_samples=120, n_annotators=40, n_labels=4000, payloads=True
    )
