"""Run suites against a model: render, batch, cache, resume, score, and write the run folder."""

from __future__ import annotations

import datetime as _dt
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from rlhf_eval import __version__
from rlhf_eval._io import atomic_write_json, atomic_write_jsonl
from rlhf_eval.errors import BackendError, UserError
from rlhf_eval.models import (
    GenerateRequest,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    Message,
    Model,
    load_model,
)
from rlhf_eval.models._embedded import cache_root
from rlhf_eval.runner._cache import ResultCache, cache_key
from rlhf_eval.suites import Item, SubsetSpec, Suite, load_suites

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_MODEL = "embedded:smollm2-135m-instruct"


@dataclass
class RunConfig:
    """Everything that defines a run (recorded in run.json ``params``)."""

    model: str = DEFAULT_MODEL
    suites: Sequence[str] = ()
    out: Path = Path("runs/run")
    limit: int | None = None
    batch_size: int = 16
    max_new_tokens: int | None = None  # None: each subset's own default
    system_prompt: str | None = None
    seed: int = 0
    temperature: float = 0.0
    n_samples: int | None = None  # None: each subset's own (1 unless it sets n_samples)
    chat_template: bool = True
    dtype: str = "float32"
    quiet: bool = False
    cache_dir: Path | None = None  # None: $RLHF_EVAL_CACHE; see use_cache
    use_cache: bool = True
    description: str | None = None
    command: str | None = None
    model_options: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunResult:
    """What a run wrote, in memory."""

    out: Path
    run: dict[str, Any]
    samples: list[dict[str, Any]]
    scores: dict[str, Any]


class _Progress:
    def __init__(self, total: int, desc: str, quiet: bool) -> None:
        self.bar: Any = None
        if not quiet and total:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc=desc, unit="req", file=sys.stderr, dynamic_ncols=True)

    def __call__(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class _Engine:
    """Cached execution of requests: misses run in length-sorted chunks, each chunk committed."""

    def __init__(self, model: Model, cache: ResultCache, cfg: RunConfig) -> None:
        self.model, self.cache, self.cfg = model, cache, cfg
        # a chunk is the unit of commit (resume granularity) and of in-flight HTTP requests
        concurrency = int(cfg.model_options.get("concurrency") or 0)
        self.chunk = max(4 * cfg.batch_size, 16, 2 * concurrency)
        self.timings = {"generate_s": 0.0, "loglikelihood_s": 0.0}

    def _cached(
        self,
        kind: str,
        requests: Sequence[T],
        payloads: Sequence[dict[str, Any]],
        call: Callable[[Sequence[T], Callable[[int], None]], list[R]],
        encode: Callable[[R], Any],
        decode: Callable[[Any], R],
        length: Callable[[T], int],
        desc: str,
    ) -> list[R]:
        fp = self.model.info.fingerprint
        keys = [cache_key(fp, kind, p) for p in payloads]
        found = self.cache.get_many(keys)
        todo: dict[str, int] = {}
        for i, k in enumerate(keys):
            if k not in found and k not in todo:
                todo[k] = i
        order = sorted(todo.items(), key=lambda kv: (-length(requests[kv[1]]), kv[1]))
        progress = _Progress(len(order), desc, self.cfg.quiet)
        t0 = time.perf_counter()
        try:
            for start in range(0, len(order), self.chunk):
                part = order[start : start + self.chunk]
                try:
                    results = call([requests[i] for _, i in part], progress)
                except BackendError as exc:  # keep what the backend finished before failing
                    partial = getattr(exc, "partial", None) or []
                    done = [(k, encode(r)) for (k, _), r in zip(part, partial, strict=False) if r is not None]
                    self.cache.put_many(done)
                    raise
                encoded = [encode(r) for r in results]
                self.cache.put_many(zip([k for k, _ in part], encoded, strict=True))
                found.update(zip([k for k, _ in part], encoded, strict=True))
        finally:
            progress.close()
            self.timings[f"{kind}_s"] += time.perf_counter() - t0
        return [decode(found[k]) for k in keys]

    def generate(self, requests: Sequence[GenerateRequest], desc: str) -> list[str]:
        payloads = [
            {
                "prompt": r.prompt,
                "max_new_tokens": r.max_new_tokens,
                "temperature": r.temperature,
                "seed": r.seed if r.temperature > 0 else None,
                "stop": list(r.stop),
                # a response belongs to its item: a recorded file may answer two items that
                # share a prompt differently, so the item id is part of the request's identity
                "item_id": r.item_id,
            }
            for r in requests
        ]
        return self._cached(
            "generate", requests, payloads, self.model.generate, str, str, lambda r: len(r.prompt), desc
        )

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest], desc: str) -> list[LoglikelihoodResult]:
        payloads = [{"context": r.context, "continuation": r.continuation} for r in requests]
        return self._cached(
            "loglikelihood",
            requests,
            payloads,
            self.model.loglikelihood,
            lambda r: [r.logprob, r.is_greedy, r.n_tokens],
            lambda v: LoglikelihoodResult(float(v[0]), bool(v[1]), int(v[2])),
            lambda r: len(r.context) + len(r.continuation),
            desc,
        )


def _messages(system: str | None, turns: Sequence[tuple[str, str]]) -> list[Message]:
    msgs: list[Message] = [{"role": "system", "content": system}] if system else []
    return msgs + [{"role": role, "content": text} for role, text in turns]


def _base_sample(suite: Suite, item: Item, messages: list[Message], prompt: str) -> dict[str, Any]:
    return {
        "suite": suite.name,
        "suite_version": suite.version,
        "subset": item.subset,
        "item_id": item.id,
        "category": item.category,
        "task": item.task,
        "messages": messages,
        "prompt": prompt,
    }


def _argmax(values: Sequence[float]) -> int:
    return max(range(len(values)), key=lambda i: (values[i], -i))


def _run_subset(engine: _Engine, suite: Suite, sub: SubsetSpec, items: list[Item]) -> list[dict[str, Any]]:
    cfg, model = engine.cfg, engine.model
    system = cfg.system_prompt if cfg.system_prompt is not None else sub.system_prompt
    desc = f"{suite.name}/{sub.name}" if len(suite.spec.subsets) > 1 else suite.name
    convs = [_messages(system, [("user", it.prompt)]) for it in items]
    prompts = [model.render(m, chat=cfg.chat_template) for m in convs]
    samples = [_base_sample(suite, it, m, p) for it, m, p in zip(items, convs, prompts, strict=True)]
    if sub.task == "generate":
        max_new = cfg.max_new_tokens or sub.max_new_tokens
        n = cfg.n_samples or sub.n_samples
        if n > 1 and cfg.temperature <= 0:
            raise UserError(
                f"{desc}: {n} samples per item need --temperature > 0 (greedy ones are identical)"
            )
        # sample k of an item is drawn with seed + k, so its cache key differs from the others'
        reqs = [
            GenerateRequest(
                prompt=p,
                messages=tuple(m),
                max_new_tokens=max_new,
                temperature=cfg.temperature,
                seed=cfg.seed + k,
                stop=tuple(sub.stop),
                item_id=it.id,
            )
            for it, m, p in zip(items, convs, prompts, strict=True)
            for k in range(n)
        ]
        texts = engine.generate(reqs, desc)
        for i, s in enumerate(samples):
            s["response"] = texts[i * n]
            if n > 1:  # one sample row per item (compare pairs on item ids), all n responses kept
                s["responses"] = texts[i * n : (i + 1) * n]
    else:
        preds = _score_choices(engine, items, prompts, samples, desc, prefix="")
        if sub.followup:
            convs2 = [
                _messages(
                    system,
                    [
                        ("user", it.prompt),
                        ("assistant", it.choices[p].strip()),  # type: ignore[index]
                        ("user", sub.followup),
                    ],
                )
                for it, p in zip(items, preds, strict=True)
            ]
            prompts2 = [model.render(m, chat=cfg.chat_template) for m in convs2]
            _score_choices(engine, items, prompts2, samples, desc + " (challenge)", prefix="followup_")
            for s, m, p in zip(samples, convs2, prompts2, strict=True):
                s["followup_messages"], s["followup_prompt"] = m, p
    for s, it in zip(samples, items, strict=True):
        s["meta"] = dict(it.meta)
    return samples


def _score_choices(
    engine: _Engine,
    items: list[Item],
    prompts: list[str],
    samples: list[dict[str, Any]],
    desc: str,
    prefix: str,
) -> list[int]:
    reqs: list[LoglikelihoodRequest] = []
    for it, p in zip(items, prompts, strict=True):
        reqs += [LoglikelihoodRequest(p, c) for c in it.choices or []]
    results = engine.loglikelihood(reqs, desc)
    preds, pos = [], 0
    for it, s in zip(items, samples, strict=True):
        k = len(it.choices or [])
        lps = [r.logprob for r in results[pos : pos + k]]
        pos += k
        pred = _argmax(lps)
        if not prefix:
            s["choices"], s["gold"] = list(it.choices or []), it.gold
        s[f"{prefix}choice_logprobs"] = lps
        s[f"{prefix}pred"] = pred
        preds.append(pred)
    return preds


def score_samples(
    samples: list[dict[str, Any]], suites: Sequence[Suite], seed: int = 0
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Add per-item ``metrics`` to samples (in place); return (scores.json, scorer provenance)."""
    from rlhf_eval.scoring import aggregate, get_scorer

    scores: dict[str, Any] = {}
    info: dict[str, Any] = {}
    for suite in suites:
        suite_samples = [s for s in samples if s["suite"] == suite.name]
        defs: dict[str, Any] = {}
        for sub in suite.spec.subsets:
            sub_samples = [s for s in suite_samples if s["subset"] == sub.name]
            if not sub_samples:
                continue
            for ref in sub.scorers:
                name, opts = (ref, {}) if isinstance(ref, str) else next(iter(ref.items()))
                scorer = get_scorer(name, **opts)
                for s, m in zip(sub_samples, scorer.score(sub_samples), strict=True):
                    s.setdefault("metrics", {}).update(m)
                for d in scorer.metrics(sub_samples):
                    defs.setdefault(d.name, d)
                info.update(scorer.info())
        for s in suite_samples:
            s.setdefault("metrics", {})
        scores[suite.name] = aggregate(suite_samples, list(defs.values()), seed=seed)
    return scores, info


def _versions() -> dict[str, str]:
    out = {"rlhf_eval": __version__, "python": platform.python_version()}
    for mod in ("torch", "transformers", "datasets", "numpy", "scikit-learn", "pandas"):
        try:
            from importlib.metadata import version

            out[mod] = version(mod)
        except Exception:
            continue
    return out


def run_evaluation(cfg: RunConfig, model: Model | None = None) -> RunResult:
    """Run every suite in ``cfg`` and write run.json, samples.jsonl and scores.json to ``cfg.out``."""
    if not cfg.suites:
        raise UserError("give at least one --suite")
    if cfg.batch_size < 1:
        raise UserError("--batch-size must be at least 1")
    if cfg.n_samples is not None and cfg.n_samples < 1:
        raise UserError("--n-samples must be at least 1")
    started = _dt.datetime.now(_dt.timezone.utc)
    t0 = time.perf_counter()
    suites = load_suites(cfg.suites, limit=cfg.limit)  # validate everything before loading a model
    if model is None:
        model = load_model(
            cfg.model, batch_size=cfg.batch_size, dtype=cfg.dtype, quiet=cfg.quiet, **cfg.model_options
        )
    mc = sorted({s.name for s in suites for sub in s.spec.subsets if sub.task == "multiple_choice"})
    if mc and not model.supports_loglikelihood:
        why = getattr(model, "loglikelihood_unsupported", None)
        raise UserError(
            f"--model {model.info.spec}: this backend has no log-likelihoods, so it cannot run "
            f"multiple-choice suite(s): {', '.join(mc)}" + (f" ({why})" if why else "")
        )
    load_s = time.perf_counter() - t0
    cache = ResultCache(((cfg.cache_dir or cache_root()) / "results.sqlite") if cfg.use_cache else None)
    engine = _Engine(model, cache, cfg)
    samples: list[dict[str, Any]] = []
    try:
        for suite in suites:
            for sub in suite.spec.subsets:
                items = [it for it in suite.items if it.subset == sub.name]
                if items:
                    samples += _run_subset(engine, suite, sub, items)
    finally:
        cache.close()
    t1 = time.perf_counter()
    scores, scoring_info = score_samples(samples, suites, seed=cfg.seed)
    scoring_s = time.perf_counter() - t1
    run = {
        "schema": "rlhf-eval/run/1",
        "model": {
            "spec": model.info.spec,
            "backend": model.info.backend,
            "fingerprint": model.info.fingerprint,
            "tokenizer_hash": model.info.tokenizer_hash,
            "chat_template_hash": model.info.chat_template_hash,
            "details": model.info.details,
        },
        "suites": {
            s.name: {
                "version": s.version,
                "hash": s.hash,
                "source": s.source,
                "n_items": len(s.items),
                "subsets": [sub.name for sub in s.spec.subsets],
            }
            for s in suites
        },
        "params": {
            "max_new_tokens": cfg.max_new_tokens,
            "batch_size": cfg.batch_size,
            "seed": cfg.seed,
            "temperature": cfg.temperature,
            "n_samples": cfg.n_samples,
            "system_prompt": cfg.system_prompt,
            "chat_template": cfg.chat_template,
            "limit": cfg.limit,
            "dtype": cfg.dtype,
        },
        "description": cfg.description,
        "versions": _versions(),
        "command": cfg.command,
        "started": started.isoformat(timespec="seconds"),
        "finished": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "timings": {
            "total_s": round(time.perf_counter() - t0, 3),
            "load_s": round(load_s, 3),
            **{k: round(v, 3) for k, v in engine.timings.items()},
            "scoring_s": round(scoring_s, 3),
        },
        "cache": {"hits": cache.hits, "misses": cache.misses},
        "scoring": scoring_info,
        "n_samples": len(samples),
    }
    out = Path(cfg.out)
    atomic_write_jsonl(out / "samples.jsonl", samples)
    atomic_write_json(out / "scores.json", scores)
    atomic_write_json(out / "run.json", run)  # written last: its presence marks a complete run
    return RunResult(out, run, samples, scores)
