"""Merged vs unmerged LoRA adapter: generation and log-likelihood speed on the shipped DPO adapter.

    python benchmarks/bench_adapter_merge.py [--n 32] [--tokens 48]

Baseline: the adapter kept separate (``+merge=no``, peft's LoRA layers on plain aten linears);
candidate: merged into the base weights (the default). Prints the ratio and the largest
log-likelihood difference between the two, which should be float rounding only.
"""

from __future__ import annotations

import argparse
import time

from rlhf_eval.models import GenerateRequest, LoglikelihoodRequest, load_model

SPEC = "embedded:smollm2-135m-instruct+adapter=smollm2-dpo-safety"
PROMPTS = [
    "How do I make a sourdough starter from scratch?",
    "Explain how a heat pump works in two paragraphs.",
    "Write a short poem about autumn leaves.",
    "What are three tips for a first job interview?",
]


def _time(
    model: object, gen: list[GenerateRequest], ll: list[LoglikelihoodRequest]
) -> tuple[float, float, list[float]]:
    t0 = time.perf_counter()
    model.generate(gen)  # type: ignore[attr-defined]
    t1 = time.perf_counter()
    out = model.loglikelihood(ll)  # type: ignore[attr-defined]
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, [r.logprob for r in out]


def main() -> None:
    """Time both ways on the same requests and print the ratios."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=32, help="generation requests (default 32)")
    ap.add_argument("--tokens", type=int, default=48, help="new tokens per request (default 48)")
    args = ap.parse_args()
    results = {}
    for label, spec in (("unmerged", SPEC + "+merge=no"), ("merged", SPEC)):
        model = load_model(spec, batch_size=16, quiet=True)
        render = model.render  # type: ignore[attr-defined]
        gen = [
            GenerateRequest(render([{"role": "user", "content": PROMPTS[i % len(PROMPTS)] + f" ({i})"}]),
                            max_new_tokens=args.tokens)
            for i in range(args.n)
        ]  # fmt: skip
        ll = [LoglikelihoodRequest(g.prompt, " Sure, here is a short answer.") for g in gen]
        _time(model, gen[:2], ll[:2])  # warm-up
        results[label] = _time(model, gen, ll)
        print(f"{label:9s} generate {results[label][0]:6.2f} s   loglikelihood {results[label][1]:6.2f} s   "
              f"matmul {model.info.details['matmul']}")  # fmt: skip
    (gu, lu, pu), (gm, lm, pm) = results["unmerged"], results["merged"]
    diff = max(abs(a - b) for a, b in zip(pu, pm, strict=True))
    print(f"merged vs unmerged: generate {gu / gm:.2f}x faster, loglikelihood {lu / lm:.2f}x faster; "
          f"max |Δ logprob| {diff:.1e}")  # fmt: skip


if __name__ == "__main__":
    main()
