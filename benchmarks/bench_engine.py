"""Engine speed against lm-evaluation-harness's `hf` backend on the embedded SmolLM2.

Scores the same multiple-choice requests with both and prints the wall-time ratio and the
largest per-choice log-likelihood difference; then greedy generation of 64 new tokens
(our `generate` vs lm-eval's `generate_until`). lm-eval is a benchmark-only extra:
``pip install -e '.[bench]'``.

    python benchmarks/bench_engine.py [--items 200] [--gen-items 16] [--lm-eval-batch-sizes 1,8,32,64]
"""

from __future__ import annotations

import argparse
import random
import time
from typing import Any


def mc_requests(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """n four-choice questions (arithmetic and word facts) as (context, continuation) pairs."""
    rng = random.Random(seed)
    out: list[tuple[str, str]] = []
    words = ["river", "mountain", "library", "orchestra", "volcano", "glacier", "harbour", "meadow"]
    for i in range(n):
        a, b = rng.randint(2, 99), rng.randint(2, 99)
        if i % 2:
            ctx = f"Question: What is {a} plus {b}?\nAnswer:"
            opts = [a + b, a + b + 1, a + b - 1, a * b]
            conts = [f" {o}" for o in opts]
        else:
            w = rng.choice(words)
            ctx = (
                f"Question: Which sentence best describes a {w} in a short phrase of plain English?\nAnswer:"
            )
            conts = [
                f" A {w} is a natural or built place people often visit.",
                f" A {w} is a kind of number.",
                f" A {w} is a colour of the rainbow.",
                f" A {w} is a verb meaning to run quickly.",
            ]
        out += [(ctx, c) for c in conts]
    return out


def gen_prompts(n: int) -> list[str]:
    topics = [
        "the water cycle",
        "how vaccines work",
        "why the sky is blue",
        "photosynthesis",
        "gravity",
        "the printing press",
        "volcanoes",
        "the internet",
        "bread baking",
        "tides",
        "rainbows",
        "bees",
    ]
    return [
        f"Explain {topics[i % len(topics)]} to a curious ten-year-old, in a short paragraph."
        for i in range(n)
    ]


def time_it(fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=200)
    ap.add_argument("--gen-items", type=int, default=16)
    ap.add_argument("--lm-eval-batch-sizes", default="1,8,32,64")
    ap.add_argument("--batch-size", type=int, default=32, help="our batch size for log-likelihoods")
    ap.add_argument("--gen-batch-size", type=int, default=16)
    ap.add_argument("--skip-generation", action="store_true")
    args = ap.parse_args()

    import torch
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    from rlhf_eval.models import GenerateRequest, HFModel, LoglikelihoodRequest, ensure_converted

    torch.set_num_threads(torch.get_num_threads())
    folder = str(ensure_converted("smollm2-135m-instruct"))
    reqs = mc_requests(args.items)
    print(f"model: embedded SmolLM2-135M-Instruct ({folder}); torch threads {torch.get_num_threads()}")
    print(f"log-likelihood: {args.items} questions x 4 choices = {len(reqs)} requests")

    # lm-eval at its best batch size
    best: tuple[float, int, list[float]] | None = None
    for bs in [int(x) for x in args.lm_eval_batch_sizes.split(",")]:
        lm = HFLM(pretrained=folder, batch_size=bs, dtype="float32", device="cpu")
        insts = [
            Instance(request_type="loglikelihood", doc={}, arguments=r, idx=i) for i, r in enumerate(reqs)
        ]
        secs, res = time_it(lambda lm=lm, insts=insts: lm.loglikelihood(insts, disable_tqdm=True))
        print(f"  lm-eval hf   batch {bs:>3}: {secs:7.2f} s")
        if best is None or secs < best[0]:
            best = (secs, bs, [float(r[0]) for r in res])
        del lm
    assert best is not None
    ours_model = HFModel(folder, batch_size=args.batch_size)
    ours_reqs = [LoglikelihoodRequest(c, x) for c, x in reqs]
    ours_model.loglikelihood(ours_reqs[:8])  # warm-up, like lm-eval's model load
    secs, ours = time_it(lambda: ours_model.loglikelihood(ours_reqs))
    print(f"  rlhf-eval    batch {args.batch_size:>3}: {secs:7.2f} s")
    diffs = [abs(a.logprob - b) for a, b in zip(ours, best[2], strict=True)]

    def preds(lls: list[float]) -> list[int]:
        return [max(range(4), key=lambda j, i=i: lls[i * 4 + j]) for i in range(len(lls) // 4)]

    same = preds([r.logprob for r in ours]) == preds(best[2])
    print(
        f"LOGLIKELIHOOD speed-up vs lm-eval (best batch {best[1]}): {best[0] / secs:.2f}x; "
        f"max |delta loglik| = {max(diffs):.2e}; identical predictions: {same}"
    )

    if args.skip_generation:
        return
    prompts = gen_prompts(args.gen_items)
    tok = ours_model.tok
    rendered = [
        tok.apply_chat_template([{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True)
        for p in prompts
    ]
    print(f"greedy generation: {len(prompts)} prompts x 64 new tokens")
    best_g: tuple[float, int, list[str]] | None = None
    for bs in [int(x) for x in args.lm_eval_batch_sizes.split(",")]:
        lm = HFLM(pretrained=folder, batch_size=bs, dtype="float32", device="cpu")
        insts = [
            Instance(
                request_type="generate_until",
                doc={},
                arguments=(r, {"until": [], "max_gen_toks": 64, "do_sample": False}),
                idx=i,
            )
            for i, r in enumerate(rendered)
        ]
        secs, res = time_it(lambda lm=lm, insts=insts: lm.generate_until(insts, disable_tqdm=True))
        print(f"  lm-eval generate_until batch {bs:>3}: {secs:7.2f} s")
        if best_g is None or secs < best_g[0]:
            best_g = (secs, bs, list(res))
        del lm
    assert best_g is not None
    ours_model.batch_size = args.gen_batch_size
    greqs = [GenerateRequest(prompt=r, max_new_tokens=64) for r in rendered]
    secs, texts = time_it(lambda: ours_model.generate(greqs))
    print(f"  rlhf-eval generate batch {args.gen_batch_size:>3}: {secs:7.2f} s")
    same_text = sum(a.strip() == b.strip() for a, b in zip(texts, best_g[2], strict=True))
    print(
        f"GENERATION speed-up vs lm-eval (best batch {best_g[1]}): {best_g[0] / secs:.2f}x; "
        f"identical texts: {same_text}/{len(texts)}"
    )


if __name__ == "__main__":
    main()
