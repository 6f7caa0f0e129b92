"""transformers backend: batched, length-sorted, left-padded generation and log-likelihoods.

Log-likelihoods follow lm-evaluation-harness's tokenisation (trailing context spaces move
into the continuation; continuation tokens = tokens of context+continuation after the
context's) so results are comparable with it, but run the transformer body once per unique
input and apply the LM head only at the continuation positions: with a 49k-262k vocabulary
the full-sequence logits lm-eval computes are most of its time and memory.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import inspect
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rlhf_eval.errors import BackendError, UserError
from rlhf_eval.models._adapter import AdapterSpec, apply_adapter, combined_fingerprint
from rlhf_eval.models._protocol import (
    GenerateRequest,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    Message,
    ModelInfo,
    ProgressFn,
)

# Used for base models that ship no chat template (documented in README):
PLAIN_TEMPLATE_DOC = "System: {system}\\n\\nUser: {user}\\n\\nAssistant: {assistant}\\n\\n ... Assistant:"
_ROLE_NAMES = {"system": "System", "user": "User", "assistant": "Assistant"}

_DTYPES = {
    "float32": "float32",
    "fp32": "float32",
    "float16": "float16",
    "fp16": "float16",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
    "auto": "auto",
}


def plain_render(messages: Sequence[Message]) -> str:
    """The plain chat template for models without one: role-prefixed turns, ends with 'Assistant:'."""
    parts = [f"{_ROLE_NAMES.get(m['role'], m['role'].title())}: {m['content']}" for m in messages]
    return "\n\n".join([*parts, "Assistant:"])


def raw_render(messages: Sequence[Message]) -> str:
    """``--no-chat-template``: the message texts as they are (system text, blank line, prompt)."""
    return "\n\n".join(m["content"] for m in messages)


def sha256_text(text: str | None) -> str | None:
    """Short content hash of a text (tokenizer files, chat templates)."""
    if text is None:
        return None
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def weights_fingerprint(path: Path) -> str:
    """sha256 over the weight files of a local model folder.

    Each file's digest is remembered under ``$RLHF_EVAL_CACHE/fingerprints`` keyed by its
    path, size and mtime, so a multi-GB model is hashed once, not on every run.
    """
    from rlhf_eval.models._embedded import cache_root

    files = sorted(
        p for p in path.iterdir() if p.suffix in {".safetensors", ".bin", ".gguf", ".pt"} and p.is_file()
    )
    memo = cache_root() / "fingerprints"
    h = hashlib.sha256()
    for p in files:
        st = p.stat()
        stamp = f"{p.resolve()}:{st.st_size}:{st.st_mtime_ns}"
        marker = memo / hashlib.sha256(stamp.encode()).hexdigest()
        digest = marker.read_text().strip() if marker.is_file() else None
        if not digest:
            fh = hashlib.sha256()
            with p.open("rb") as f:
                while chunk := f.read(1 << 22):
                    fh.update(chunk)
            digest = fh.hexdigest()
            with contextlib.suppress(OSError):  # a read-only cache only costs a re-hash
                memo.mkdir(parents=True, exist_ok=True)
                marker.write_text(digest)
        h.update(f"{p.name}:{digest}\n".encode())
    return "sha256:" + h.hexdigest()[:32]


class HFModel:
    """A causal LM loaded with transformers (local folder or Hub id).

    On CPU its float32 linear layers are swapped in place for oneDNN-packed ones (see
    `_onednn`), including those of a `model=` passed in; ``RLHF_EVAL_ONEDNN=0`` keeps them.
    """

    supports_loglikelihood = True

    def __init__(
        self,
        name_or_path: str,
        *,
        spec: str | None = None,
        dtype: str = "float32",
        device: str | None = None,
        batch_size: int = 8,
        model: Any = None,
        tokenizer: Any = None,
        fingerprint: str | None = None,
        adapter: AdapterSpec | None = None,
    ) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if dtype not in _DTYPES:
            raise UserError(f"--dtype: unknown dtype {dtype!r}; choose from {', '.join(sorted(_DTYPES))}")
        self.batch_size = max(1, int(batch_size))
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        local = Path(name_or_path)
        if model is None:
            if not local.exists() and os.environ.get("HF_HUB_OFFLINE") == "1":
                raise UserError(f"hf:{name_or_path}: no such local folder, and the Hub is offline")
            try:
                tokenizer = AutoTokenizer.from_pretrained(name_or_path)
                torch_dtype = _DTYPES[dtype] if dtype == "auto" else getattr(torch, _DTYPES[dtype])
                model = AutoModelForCausalLM.from_pretrained(name_or_path, dtype=torch_dtype)
            except Exception as exc:  # transformers raises many types for a bad folder
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise BackendError(f"hf:{name_or_path}: cannot load model ({first})") from None
        from ._onednn import pack_linears

        if fingerprint is None:
            if local.is_dir():
                fingerprint = weights_fingerprint(local)
            else:
                commit = getattr(model.config, "_commit_hash", None) or "unknown-revision"
                fingerprint = f"hub:{name_or_path}@{commit}"
        adapter_details: dict[str, Any] | None = None
        if adapter is not None:
            base_fingerprint = fingerprint
            model, adapter_details = apply_adapter(model, adapter, base_fingerprint)
            adapter_details["base_fingerprint"] = base_fingerprint
            fingerprint = combined_fingerprint(
                base_fingerprint, adapter_details["fingerprint"], adapter.merge
            )
        self.model = model.to(self.device).eval()
        n_parameters = int(sum(p.numel() for p in self.model.parameters()))
        # an unmerged PEFT model keeps its LoRA wrappers, which read their base layer's .weight
        packed = (adapter is None or adapter.merge) and pack_linears(self.model, self.device)
        matmul = "onednn-packed" if packed else "aten"
        self.tok = tokenizer
        if self.tok.pad_token_id is None:
            self.tok.pad_token = self.tok.eos_token
        self.has_chat_template = bool(getattr(self.tok, "chat_template", None))
        eos = getattr(getattr(self.model, "generation_config", None), "eos_token_id", None)
        eos_list = eos if isinstance(eos, list) else [eos]
        self._eos_ids = {int(e) for e in [*eos_list, self.tok.eos_token_id] if e is not None}
        # transformers 5 renamed the forward argument past_key_values -> cache
        params = inspect.signature(self.model.base_model.forward).parameters
        self._cache_kw = "cache" if "cache" in params else "past_key_values"
        vocab = self.tok.get_vocab()
        self.info = ModelInfo(
            spec=spec or f"hf:{name_or_path}",
            backend="hf",
            fingerprint=fingerprint,
            tokenizer_hash=sha256_text(repr(sorted(vocab.items()))),
            chat_template_hash=sha256_text(getattr(self.tok, "chat_template", None)),
            details={
                "name_or_path": str(name_or_path),
                "dtype": str(self.model.dtype).replace("torch.", ""),
                "device": self.device,
                "architecture": type(self.model).__name__,
                "n_parameters": n_parameters,
                "matmul": matmul,
                "chat_template": "model" if self.has_chat_template else "plain (see README)",
                **({"adapter": adapter_details} if adapter_details else {}),
            },
        )

    # -- prompts -----------------------------------------------------------------------
    def render(self, messages: Sequence[Message], *, chat: bool = True) -> str:
        """Exact text for a conversation, ending where the assistant's reply starts."""
        if not chat:
            return raw_render(messages)
        if self.has_chat_template:
            return str(
                self.tok.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True)
            )
        return plain_render(messages)

    def _encode(self, text: str) -> list[int]:
        bos = self.tok.bos_token
        add_special = not (bos and text.startswith(bos))
        return list(self.tok(text, add_special_tokens=add_special)["input_ids"])

    # -- generation --------------------------------------------------------------------
    def generate(self, requests: Sequence[GenerateRequest], progress: ProgressFn | None = None) -> list[str]:
        """Greedy (or seeded sampling) completions, batched by sorted length and left-padded."""
        import torch

        out: list[str] = [""] * len(requests)
        encoded = [self._encode(r.prompt) for r in requests]
        order = sorted(range(len(requests)), key=lambda i: (-len(encoded[i]), i))
        pad = int(self.tok.pad_token_id)
        i = 0
        while i < len(order):
            # one batch shares generation parameters
            head = requests[order[i]]
            idx = [order[i]]
            j = i + 1
            while len(idx) < self.batch_size and j < len(order):
                r = requests[order[j]]
                if (r.max_new_tokens, r.temperature, r.seed, r.stop) != (
                    head.max_new_tokens,
                    head.temperature,
                    head.seed,
                    head.stop,
                ):
                    break
                idx.append(order[j])
                j += 1
            width = max(len(encoded[k]) for k in idx)
            ids = torch.full((len(idx), width), pad, dtype=torch.long)
            mask = torch.zeros((len(idx), width), dtype=torch.long)
            for row, k in enumerate(idx):
                seq = encoded[k]
                ids[row, width - len(seq) :] = torch.tensor(seq)
                mask[row, width - len(seq) :] = 1
            try:
                with torch.inference_mode():
                    new = self._decode(ids, mask, head.max_new_tokens, head.temperature, head.seed)
            except RuntimeError as exc:
                raise BackendError(
                    f"{self.info.spec}: generation failed ({str(exc).splitlines()[0]})"
                ) from None
            for row, k in enumerate(idx):
                text = self.tok.decode(new[row], skip_special_tokens=True)
                out[k] = _apply_stop(text, requests[k].stop)
            if progress:
                progress(len(idx))
            i = j
        return out

    def _decode(
        self, ids: Any, mask: Any, max_new: int, temperature: float, seed: int | None
    ) -> list[list[int]]:
        """Token-by-token decoding with a KV cache that drops rows as they finish.

        ``model.generate`` keeps computing every row until the longest one ends; here a row
        that emitted EOS leaves the batch (its cache rows too), so a batch of short refusals
        and long answers costs what its remaining rows need. Greedy is the argmax of the
        model's logits (no repetition penalty or other processors); ``temperature > 0``
        samples from softmax(logits / T) with a generator seeded by ``seed``.
        """
        import torch

        body, head = self.model.base_model, self.model.get_output_embeddings()
        softcap = getattr(self.model.config, "final_logit_softcapping", None)
        dev = self.device
        gen = torch.Generator(device="cpu").manual_seed(seed if seed is not None else 0)

        def next_tokens(hidden: Any) -> Any:
            logits = head(hidden).float()
            if softcap:
                logits = torch.tanh(logits / softcap) * softcap
            if temperature <= 0:
                return logits.argmax(dim=-1).cpu()
            probs = torch.softmax(logits / temperature, dim=-1).cpu()
            return torch.multinomial(probs, 1, generator=gen)[:, 0]

        mask = mask.to(dev)
        pos = (mask.cumsum(-1) - 1).clamp(min=0)
        prealloc = _preallocated_cache(self.model.config, ids.shape[1] + max_new)
        cache_arg = {} if prealloc is None else {self._cache_kw: prealloc}
        out = body(input_ids=ids.to(dev), attention_mask=mask, position_ids=pos, use_cache=True, **cache_arg)
        cache, tok = out[1], next_tokens(out[0][:, -1])
        active = list(range(ids.shape[0]))  # batch row -> original row
        result: list[list[int]] = [[] for _ in active]
        next_pos = pos[:, -1] + 1
        for step in range(max_new):
            keep = []
            for row, orig in enumerate(active):
                t = int(tok[row])
                if t in self._eos_ids:
                    continue
                result[orig].append(t)
                keep.append(row)
            if not keep or step == max_new - 1:
                break
            if len(keep) < len(active):
                sel = torch.tensor(keep, device=dev)
                cache.batch_select_indices(sel)
                mask, next_pos, tok = mask[sel], next_pos[sel], tok[torch.tensor(keep)]
                active = [active[r] for r in keep]
            mask = torch.cat([mask, mask.new_ones((len(active), 1))], dim=1)
            h = body(
                input_ids=tok[:, None].to(dev),
                attention_mask=mask,
                position_ids=next_pos[:, None],
                **{self._cache_kw: cache},
                use_cache=True,
            )[0]
            tok = next_tokens(h[:, -1])
            next_pos = next_pos + 1
        return result

    # -- log-likelihood ----------------------------------------------------------------
    def _ll_tokens(self, req: LoglikelihoodRequest) -> tuple[list[int], list[int]]:
        context, continuation = req.context, req.continuation
        n_spaces = len(context) - len(context.rstrip())
        if n_spaces > 0:
            continuation = context[-n_spaces:] + continuation
            context = context[:-n_spaces]
        whole = self._encode(context + continuation)
        ctx = self._encode(context)
        cont = whole[len(ctx) :]
        if not cont:
            raise UserError(f"empty continuation after tokenisation: {req.continuation!r}")
        if not ctx:  # nothing to condition on: condition on BOS/EOS like lm-eval
            ctx = [int(self.tok.bos_token_id or self.tok.eos_token_id)]
        return ctx, cont

    def loglikelihood(
        self, requests: Sequence[LoglikelihoodRequest], progress: ProgressFn | None = None
    ) -> list[LoglikelihoodResult]:
        """Summed continuation log-probs; requests sharing a context share its forward pass.

        Per batch: one forward over the distinct contexts (right-padded) that keeps the KV
        cache; the cache rows are then repeated for each continuation and a second forward
        runs only the continuation tokens. Multiple-choice items with k choices thus pay for
        their question once instead of k times; the LM head runs only where a continuation
        token is predicted.
        """
        import torch

        toks = [self._ll_tokens(r) for r in requests]
        # identical (context, continuation) token pairs are computed once
        first_of: dict[tuple[tuple[int, ...], tuple[int, ...]], int] = {}
        same_as = [first_of.setdefault((tuple(c), tuple(x)), k) for k, (c, x) in enumerate(toks)]
        groups: dict[tuple[int, ...], list[int]] = {}
        for k, (ctx, _) in enumerate(toks):
            if same_as[k] == k:
                groups.setdefault(tuple(ctx), []).append(k)
        span = {key: len(key) + max(len(toks[k][1]) for k in ks) for key, ks in groups.items()}
        keys = sorted(groups, key=lambda t: (-span[t], t))
        results: list[LoglikelihoodResult | None] = [None] * len(requests)
        max_len = int(getattr(self.model.config, "max_position_embeddings", 0) or 0)
        for b in range(0, len(keys), self.batch_size):
            batch = keys[b : b + self.batch_size]
            if max_len and span[batch[0]] > max_len:
                raise UserError(f"a prompt is {span[batch[0]]} tokens, longer than the model's {max_len}")
            try:
                with torch.inference_mode():
                    scored = self._ll_batch(batch, groups, toks)
            except RuntimeError as exc:
                raise BackendError(
                    f"{self.info.spec}: forward pass failed ({str(exc).splitlines()[0]})"
                ) from None
            for k, res in scored:
                results[k] = res
            if progress:
                progress(sum(len(groups[key]) for key in batch))
        done = [results[same_as[k]] for k in range(len(requests))]
        if progress and len(requests) > len(first_of):
            progress(len(requests) - len(first_of))
        return [r for r in done if r is not None]

    def _ll_batch(
        self,
        batch: list[tuple[int, ...]],
        groups: dict[tuple[int, ...], list[int]],
        toks: list[tuple[list[int], list[int]]],
    ) -> list[tuple[int, LoglikelihoodResult]]:
        import torch

        body, head = self.model.base_model, self.model.get_output_embeddings()
        pad = int(self.tok.pad_token_id)
        dev = self.device
        width = max(len(key) for key in batch)
        ids = torch.full((len(batch), width), pad, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for g, key in enumerate(batch):  # right padding: positions 0..len-1 as in an unpadded run
            ids[g, : len(key)] = torch.tensor(key)
            mask[g, : len(key)] = 1
        rows = [(g, k) for g, key in enumerate(batch) for k in groups[key]]
        multi = [(g, k) for g, k in rows if len(toks[k][1]) > 1]  # need a second pass
        # right padding under a causal mask never affects real positions, so no attention mask:
        # SDPA then takes its fast is_causal path (pad keys are masked in the second pass)
        out = body(input_ids=ids.to(dev), use_cache=bool(multi))
        hidden = out[0]
        # the last context position predicts each continuation's first token
        h_first = hidden[
            torch.tensor([g for g, _ in rows]), torch.tensor([len(batch[g]) - 1 for g, _ in rows])
        ]
        pieces = [h_first]
        later_rows: list[tuple[int, int]] = []  # (g, k) in the order their later tokens are stacked
        for part, last in _width_buckets(multi, lambda gk: len(toks[gk[1]][1]) - 1, 4 * self.batch_size):
            # rows of similar continuation length share a pass, so little of it is padding
            cache = out[1] if last else copy.deepcopy(out[1])
            cont_width = max(len(toks[k][1]) - 1 for _, k in part)
            gidx = torch.tensor([g for g, _ in part], device=dev)
            cache.batch_select_indices(gidx)
            cids = torch.full((len(part), cont_width), pad, dtype=torch.long)
            cmask = torch.zeros((len(part), cont_width), dtype=torch.long)
            for r, (_, k) in enumerate(part):
                inp = toks[k][1][:-1]
                cids[r, : len(inp)] = torch.tensor(inp)
                cmask[r, : len(inp)] = 1
            pos = torch.tensor([len(batch[g]) for g, _ in part])[:, None] + torch.arange(cont_width)[None, :]
            full_mask = torch.cat([mask.to(dev)[gidx], cmask.to(dev)], dim=1)
            h2 = body(
                input_ids=cids.to(dev),
                attention_mask=full_mask,
                position_ids=pos.to(dev),
                **{self._cache_kw: cache},
                use_cache=True,
            )[0]
            sel_r = [r for r, (_, k) in enumerate(part) for _ in toks[k][1][1:]]
            sel_t = [t for _, k in part for t in range(len(toks[k][1]) - 1)]
            pieces.append(h2[torch.tensor(sel_r), torch.tensor(sel_t)])
            later_rows += part
        logits = head(torch.cat(pieces)).float()
        softcap = getattr(self.model.config, "final_logit_softcapping", None)
        if softcap:
            logits = torch.tanh(logits / softcap) * softcap
        logp = torch.log_softmax(logits, dim=-1)
        # logit rows: every continuation's first token, then the later tokens of each multi row
        flat_targets = [toks[k][1][0] for _, k in rows] + [x for _, k in later_rows for x in toks[k][1][1:]]
        tgt = torch.tensor(flat_targets, device=logp.device)
        tok_lp = logp.gather(1, tgt[:, None])[:, 0].tolist()
        greedy = (logp.argmax(dim=-1) == tgt).tolist()
        rest: dict[int, tuple[float, bool]] = {}
        pos_later = len(rows)
        for _, k in later_rows:
            n_rest = len(toks[k][1]) - 1
            rest[k] = (
                sum(tok_lp[pos_later : pos_later + n_rest]),
                all(greedy[pos_later : pos_later + n_rest]),
            )
            pos_later += n_rest
        out_rows: list[tuple[int, LoglikelihoodResult]] = []
        for r, (_, k) in enumerate(rows):
            lp, ok = rest.get(k, (0.0, True))
            out_rows.append(
                (
                    k,
                    LoglikelihoodResult(
                        logprob=float(tok_lp[r] + lp),
                        is_greedy=bool(greedy[r] and ok),
                        n_tokens=len(toks[k][1]),
                    ),
                )
            )
        return out_rows


def _preallocated_cache(config: Any, capacity: int) -> Any | None:
    """Our concatenation-free KV cache where the installed transformers supports it (5.x)."""
    try:
        from ._kvcache import preallocated_cache
    except ImportError:  # transformers 4.x: no per-layer cache classes
        return None
    return preallocated_cache(config, capacity)


def _width_buckets(
    rows: list[tuple[int, int]], width: Callable[[tuple[int, int]], int], max_rows: int
) -> list[tuple[list[tuple[int, int]], bool]]:
    """Rows sorted by width (desc), cut where a bucket fills or the width halves; flags the last."""
    buckets: list[list[tuple[int, int]]] = []
    for row in sorted(rows, key=width, reverse=True):
        if not buckets or len(buckets[-1]) >= max_rows or 2 * width(row) < width(buckets[-1][0]):
            buckets.append([])
        buckets[-1].append(row)
    return [(b, i == len(buckets) - 1) for i, b in enumerate(buckets)]


def _apply_stop(text: str, stop: Sequence[str]) -> str:
    cut = len(text)
    for s in stop:
        pos = text.find(s)
        if s and pos != -1:
            cut = min(cut, pos)
    return text[:cut]
