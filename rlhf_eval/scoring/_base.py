"""Scorer protocol and registry: a scorer adds per-item metrics to samples.

A scorer reads sample dicts (see docs/formats.md) and returns, for each sample, a dict of
per-item metric values (``None`` = not applicable). It declares the suite-level metrics
(:class:`MetricDef`) that :func:`rlhf_eval.scoring.aggregate` turns into scores.json.
Register new scorers with ``@register("name")`` on a zero-argument factory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from rlhf_eval.errors import UserError
from rlhf_eval.stats._misclassification import JudgeError

ItemMetrics = dict[str, float | None]
Sample = dict[str, Any]


@dataclass(frozen=True)
class MetricDef:
    """A suite-level metric aggregated from one per-item metric.

    ``kind``: ``proportion`` (0/1 item values, Wilson CI), ``mean`` (bootstrap CI) or
    ``ece`` (expected calibration error over ``confidence`` and ``correct``). A proportion
    decided by a judge with measured error (``judge_error``: its sensitivity and specificity
    for the event counted) also gets a judge-corrected estimate in scores.json.
    """

    name: str
    item_metric: str
    kind: Literal["proportion", "mean", "ece"]
    higher_is_better: bool | None
    judge_error: JudgeError | None = None


class Scorer(Protocol):
    """What the runner calls after the model has answered."""

    name: str

    def metrics(self, samples: Sequence[Sample]) -> list[MetricDef]:
        """The suite-level metrics this scorer produces for these samples."""
        ...

    def score(self, samples: Sequence[Sample]) -> list[ItemMetrics]:
        """Per-item metrics, one dict per sample, in order."""
        ...

    def info(self) -> dict[str, Any]:
        """Provenance recorded in run.json (e.g. a detector's cross-validated accuracy)."""
        ...


ScorerFactory = Callable[..., Scorer]
_REGISTRY: dict[str, ScorerFactory] = {}
_INSTANCES: dict[str, Scorer] = {}


def register(name: str) -> Callable[[ScorerFactory], ScorerFactory]:
    """Decorator registering a scorer factory under ``name``.

    The factory takes the keyword options a suite gives the scorer
    (``scorers: [{refusal: {expect: refuse}}]`` calls ``factory(expect="refuse")``).
    """

    def deco(factory: ScorerFactory) -> ScorerFactory:
        _REGISTRY[name] = factory
        return factory

    return deco


def get_scorer(name: str, **options: Any) -> Scorer:
    """The (cached) scorer registered as ``name`` with ``options``; unknown names are a UserError."""
    _load_builtin_scorers()
    if name not in _REGISTRY:
        raise UserError(f"unknown scorer {name!r}; known: {', '.join(sorted(_REGISTRY))}")
    key = name + repr(sorted(options.items()))
    if key not in _INSTANCES:
        try:
            _INSTANCES[key] = _REGISTRY[name](**options)
        except TypeError as exc:
            raise UserError(f"scorer {name!r}: bad options {options!r} ({exc})") from None
    return _INSTANCES[key]


def scorer_names() -> list[str]:
    """Names of every registered scorer."""
    _load_builtin_scorers()
    return sorted(_REGISTRY)


def _load_builtin_scorers() -> None:
    # Importing the package registers the built-in scorers (each module uses @register).
    import rlhf_eval.scoring  # noqa: F401
