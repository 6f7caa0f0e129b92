"""Fixtures for the import tests: two tiny models (before/after) and the logs real tools write for them."""

from __future__ import annotations

from pathlib import Path

import pytest
from interop_logs import MMLU_FILE, NATIVE_SUITE, make_tiny_model, mmlu_task, run_inspect, run_lm_eval


@pytest.fixture(scope="session")
def two_models(tmp_path_factory: pytest.TempPathFactory, smollm_tokenizer) -> tuple[Path, Path]:  # type: ignore[no-untyped-def]
    """Two random tiny llamas with different seeds, standing in for the model before and after."""
    root = tmp_path_factory.mktemp("interop-models")
    return make_tiny_model(smollm_tokenizer, 1, root / "before"), make_tiny_model(
        smollm_tokenizer, 2, root / "after"
    )


@pytest.fixture(scope="session")
def lm_eval_outputs(
    tmp_path_factory: pytest.TempPathFactory, two_models: tuple[Path, Path]
) -> tuple[Path, Path]:
    """lm-eval --log_samples output folders (before, after) of the MMLU-schema task on both models.

    The task is named as `rlhf-eval run --suite mmlu:mmlu_tiny.jsonl` names its suite, so that
    compare's per-row bootstrap seeds (derived from the metric path) are the same for both.
    """
    root = tmp_path_factory.mktemp("lm-eval-out")
    return tuple(  # type: ignore[return-value]
        run_lm_eval(model, [mmlu_task(MMLU_FILE, NATIVE_SUITE)], root / side).parent
        for side, model in zip(("before", "after"), two_models, strict=True)
    )


@pytest.fixture(scope="session")
def inspect_logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Inspect logs written by Inspect: before (.eval and .json), after (.eval), a 2-epoch pair."""
    root = tmp_path_factory.mktemp("inspect-logs")

    def before(n: int) -> bool:
        return n % 3 == 0

    def after(n: int) -> bool:
        return n % 3 != 1

    return {
        "before_eval": run_inspect(before, root / "before_eval", "eval"),
        "before_json": run_inspect(before, root / "before_json", "json"),
        "after_eval": run_inspect(after, root / "after_eval", "eval"),
        "before_epochs": run_inspect(before, root / "before_epochs", "eval", epochs=2),
        "after_epochs": run_inspect(after, root / "after_epochs", "json", epochs=2),
        "no_samples": run_inspect(before, root / "no_samples", "eval", log_samples=False),
    }
