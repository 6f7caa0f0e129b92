"""Test helper: real lm-evaluation-harness and Inspect logs, written by the tools themselves.

lm-eval runs a tiny random llama (the real SmolLM2 tokenizer) on custom tasks over a local
JSONL file and saves through its own ``EvaluationTracker`` (the ``--output_path`` layout:
``OUT/<model_name_sanitized>/results_<ts>.json`` + ``samples_<task>_<ts>.jsonl``). Inspect
runs its built-in ``mockllm/model`` with a deterministic answer function.

``python tests/interop/interop_logs.py`` regenerates the committed small lm-eval fixture
under tests/data/interop/lm_eval_small (used by the fast and the malformed-log tests).
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the shared tiny model
from tiny_llama import make_tiny_llama as make_tiny_model

DATA = Path(__file__).resolve().parents[1] / "data" / "interop"
MMLU_FILE = DATA / "mmlu_tiny.jsonl"
NATIVE_SUITE = "mmlu-mmlu_tiny"  # the suite name `rlhf-eval run --suite mmlu:MMLU_FILE` gives

# lm-eval task matching rlhf_eval's `mmlu` adapter exactly: the per-subject header, the
# question, lettered options, "Answer:", and the letters (with lm-eval's " " target
# delimiter, which the adapter writes as a leading space) as the continuations.
MMLU_DESCRIPTION = (
    "The following are multiple choice questions (with answers) about {{subject.replace('_', ' ')}}.\n\n"
)
MMLU_DOC_TO_TEXT = "{{question.strip()}}\nA. {{choices[0]}}\nB. {{choices[1]}}\nC. {{choices[2]}}\nD. {{choices[3]}}\nAnswer:"


def mmlu_task(data_file: Path, name: str = "mmlu_tiny") -> dict[str, Any]:
    """An lm-eval task dict over an MMLU-schema JSONL file, prompts as our mmlu adapter builds them."""
    return {
        "task": name,
        "dataset_path": "json",
        "dataset_kwargs": {"data_files": {"test": str(data_file)}},
        "test_split": "test",
        "output_type": "multiple_choice",
        "description": MMLU_DESCRIPTION,
        "doc_to_text": MMLU_DOC_TO_TEXT,
        "doc_to_choice": ["A", "B", "C", "D"],
        "doc_to_target": "answer",
        "metric_list": [
            {"metric": "acc", "aggregation": "mean", "higher_is_better": True},
            {"metric": "acc_norm", "aggregation": "mean", "higher_is_better": True},
        ],
        "metadata": {"version": 1.0},
    }


def gen_task(data_file: Path, name: str = "gen_tiny") -> dict[str, Any]:
    """A generate_until task with gsm8k-style strict-match / flexible-extract filters."""
    return {
        "task": name,
        "dataset_path": "json",
        "dataset_kwargs": {"data_files": {"test": str(data_file)}},
        "test_split": "test",
        "output_type": "generate_until",
        "doc_to_text": "Question: {{question}}\nAnswer:",
        "doc_to_target": "{{choices[answer]}}",
        "generation_kwargs": {"until": ["\n"], "max_gen_toks": 4, "do_sample": False},
        "metric_list": [{"metric": "exact_match", "aggregation": "mean", "higher_is_better": True}],
        "filter_list": [
            {
                "name": "strict-match",
                "filter": [{"function": "regex", "regex_pattern": r"(\d+)"}, {"function": "take_first"}],
            },
            {
                "name": "flexible-extract",
                "filter": [
                    {"function": "regex", "regex_pattern": r"(\w+)", "group_select": -1},
                    {"function": "take_first"},
                ],
            },
        ],
        "metadata": {"version": 2.0},
    }


def run_lm_eval(model_dir: Path, tasks: list[dict[str, Any]], output_path: Path) -> Path:
    """``lm_eval --model hf --log_samples --output_path OUT`` in-process; returns the model subfolder."""
    import lm_eval
    from lm_eval.loggers import EvaluationTracker

    tracker = EvaluationTracker(output_path=str(output_path))
    results = lm_eval.simple_evaluate(
        model="hf",
        model_args=f"pretrained={model_dir},dtype=float32",
        tasks=tasks,
        batch_size=8,
        device="cpu",
        log_samples=True,
        evaluation_tracker=tracker,
        bootstrap_iters=0,
    )
    assert results is not None
    samples = results.pop("samples")
    tracker.save_results_aggregated(results=results, samples=samples)  # as lm_eval's own CLI does
    for task_name in results["configs"]:
        tracker.save_results_samples(task_name=task_name, samples=samples[task_name])
    folders = [p for p in output_path.iterdir() if p.is_dir()]
    assert len(folders) == 1, folders
    return folders[0]


def mock_answers(good: Callable[[int], bool]) -> Callable[..., Any]:
    """A mockllm answer function: the right sum for question n when ``good(n)``, else a wrong one.

    Usage is set on each output: without it mockllm counts tokens with tiktoken, which
    downloads its vocabulary (no network here).
    """
    from inspect_ai.model import ModelOutput, ModelUsage

    def answer(input: Any, tools: Any, tool_choice: Any, config: Any) -> Any:
        n = int(input[-1].text.split()[2])
        text = f"The answer is {2 * n + 1}." if good(n) else "I am not sure."
        out = ModelOutput.from_content(model="mockllm", content=text)
        out.usage = ModelUsage(input_tokens=8, output_tokens=5, total_tokens=13)
        return out

    return answer


def inspect_task(n: int = 12, log_samples_task: str = "adder") -> Any:
    """A tiny Inspect task: sums, scored by match (answer at the end) and includes (anywhere)."""
    from inspect_ai import Task
    from inspect_ai.dataset import Sample
    from inspect_ai.scorer import includes, match
    from inspect_ai.solver import generate

    dataset = [
        Sample(
            id=f"q{i}",
            input=f"What is {i} plus {i + 1}?",
            target=str(2 * i + 1),
            metadata={"level": "easy" if i < n // 2 else "hard"},
        )
        for i in range(n)
    ]
    return Task(
        dataset=dataset,
        solver=[generate()],
        scorer=[match(location="any"), includes()],
        name=log_samples_task,
    )


def run_inspect(
    good: Callable[[int], bool], log_dir: Path, fmt: str, *, epochs: int = 1, log_samples: bool = True
) -> Path:
    """One Inspect eval with mockllm answering per ``good``; returns the log file Inspect wrote."""
    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import get_model

    logs = inspect_eval(
        inspect_task(),
        model=get_model("mockllm/model", custom_outputs=mock_answers(good)),
        log_dir=str(log_dir),
        log_format=fmt,
        display="none",
        epochs=epochs,
        log_samples=log_samples,
    )
    assert logs[0].status == "success", logs[0].error
    return Path(logs[0].location)


def main() -> None:
    """Regenerate tests/data/interop/lm_eval_small: one tiny model, 6 MMLU docs, the two tasks."""
    import tempfile

    from conftest import SMOLLM_GGUF, smollm_folder
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(smollm_folder()), gguf_file=SMOLLM_GGUF)
    dest = DATA / "lm_eval_small"
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = make_tiny_model(tok, 3, Path(tmp) / "tiny-model")
        data = DATA / "mmlu_small.jsonl"
        data.write_text("".join(MMLU_FILE.read_text().splitlines(keepends=True)[::4]))
        folder = run_lm_eval(model_dir, [mmlu_task(data, "mmlu_small"), gen_task(data)], Path(tmp) / "out")
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(folder, dest / "tiny-model")
    print(f"wrote {dest}")


if __name__ == "__main__":
    main()
