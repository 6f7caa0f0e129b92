"""Engine speed against lm-evaluation-harness's `hf` backend on the embedded SmolLM2.

Scores the same multiple-choice requests with both and prints the wall-time ratio and the
largest per-choice log-likelihood difference; then greedy generation of 64 new tokens
(our `generate` vs lm-eval's `generate_until`). lm-eval is a benchmark-only extra:
``pip install -e '.[bench]'``.

    python benchmarks/bench_engine.py [--items 200] [--gen-items 48] [--lm-eval-batch-sizes 1,8,32,64]
"""

from __future__ import annotations

import argparse
import time
from typing import Any


def mc_requests(n: int, tokenizer: Any) -> list[tuple[str, str]]:
    """(context, continuation) pairs of the first n built-in multiple-choice items.

    Items come from the capability and honesty suites, rendered with the model's chat
    template exactly as `rlhf-eval run` sends them.
    """
    from rlhf_eval.suites import load_suite

    items = [it for name in ("capability", "honesty") for it in load_suite(name).items if it.choices]
    out: list[tuple[str, str]] = []
    for it in items[:n]:
        ctx = tokenizer.apply_chat_template(
            [{"role": "user", "content": it.prompt}], tokenize=False, add_generation_prompt=True
        )
        out += [(ctx, c) for c in it.choices or []]
    return out


def gen_prompts(n: int) -> list[str]:
    """The first n prompts of the built-in generate suites, taken in turn from each."""
    from rlhf_eval.suites import load_suite

    pools = [
        [it.prompt for it in load_suite(name).items]
        for name in ("harmlessness", "overrefusal", "helpfulness")
    ]
    return [pools[i % len(pools)][i // len(pools)] for i in range(n)]


def time_it(fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=200, help="multiple-choice items (each 4-6 choices)")
    ap.add_argument("--gen-items", type=int, default=48)
    ap.add_argument("--lm-eval-batch-sizes", default="1,8,32,64")
    ap.add_argument("--batch-size", type=int, default=32, help="our batch size for log-likelihoods")
    ap.add_argument("--gen-batch-sizes", default="16,48", help="our batch sizes for generation")
    ap.add_argument("--gen-lm-eval-batch-sizes", default="16,32,48")
    ap.add_argument("--skip-generation", action="store_true")
    args = ap.parse_args()

    import torch
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    from rlhf_eval.models import GenerateRequest, HFModel, LoglikelihoodRequest, ensure_converted

    torch.set_num_threads(torch.get_num_threads())
    folder = str(ensure_converted("smollm2-135m-instruct"))
    ours_model = HFModel(folder, batch_size=args.batch_size)
    reqs = mc_requests(args.items, ours_model.tok)
    print(f"model: embedded SmolLM2-135M-Instruct ({folder}); torch threads {torch.get_num_threads()}")
    print(
        f"log-likelihood: {args.items} built-in multiple-choice items = {len(reqs)} (context, choice) requests"
    )

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
    ours_reqs = [LoglikelihoodRequest(c, x) for c, x in reqs]
    ours_model.loglikelihood(ours_reqs[:8])  # warm-up, like lm-eval's model load
    secs, ours = time_it(lambda: ours_model.loglikelihood(ours_reqs))
    print(f"  rlhf-eval    batch {args.batch_size:>3}: {secs:7.2f} s")
    diffs = [abs(a.logprob - b) for a, b in zip(ours, best[2], strict=True)]

    def preds(lls: list[float]) -> list[int]:
        out, pos = [], 0
        while pos < len(reqs):  # one item = the run of requests sharing a context
            end = pos
            while end < len(reqs) and reqs[end][0] == reqs[pos][0]:
                end += 1
            out.append(max(range(pos, end), key=lambda j: lls[j]))
            pos = end
        return out

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
    print(f"greedy generation: {len(prompts)} built-in prompts, up to 64 new tokens")
    best_g: tuple[float, int, list[str]] | None = None
    for bs in [int(x) for x in args.gen_lm_eval_batch_sizes.split(",")]:
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
        lm.generate_until(insts[:4], disable_tqdm=True)  # warm-up
        secs, res = time_it(lambda lm=lm, insts=insts: lm.generate_until(insts, disable_tqdm=True))
        print(f"  lm-eval generate_until batch {bs:>3}: {secs:7.2f} s")
        if best_g is None or secs < best_g[0]:
            best_g = (secs, bs, list(res))
        del lm
    assert best_g is not None
    greqs = [GenerateRequest(prompt=r, max_new_tokens=64) for r in rendered]
    ours_model.generate(greqs[:4])  # warm-up, as for lm-eval above
    best_o: tuple[float, int, list[str]] | None = None
    for bs in [int(x) for x in args.gen_batch_sizes.split(",")]:
        ours_model.batch_size = bs
        secs, texts = time_it(lambda: ours_model.generate(greqs))
        print(f"  rlhf-eval generate       batch {bs:>3}: {secs:7.2f} s")
        if best_o is None or secs < best_o[0]:
            best_o = (secs, bs, texts)
    assert best_o is not None
    same_text = sum(a.strip() == b.strip() for a, b in zip(best_o[2], best_g[2], strict=True))
    print(
        f"GENERATION speed-up vs lm-eval (best batch {best_g[1]} vs ours {best_o[1]}): "
        f"{best_g[0] / best_o[0]:.2f}x; identical texts: {same_text}/{len(greqs)}; "
        f"our matmul kernels: {ours_model.info.details['matmul']}"
    )


if __name__ == "__main__":
    main()
