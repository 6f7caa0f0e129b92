"""Preference-data audit: annotator agreement, reliability, demographic skew, welfare, privacy.

Start with :func:`audit`, which returns DataFrames and the ``audit.json`` content; the
coefficients are also available one by one. See ``rlhf_eval/audit/README.md``.

Names are loaded on first use (PEP 562), so ``rlhf-eval --help``, which imports this
package's ``_cli`` module, does not pay for pandas and scipy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Coefficient": "_agreement",
    "agreement": "_agreement",
    "agreement_frame": "_agreement",
    "cohen_kappa": "_agreement",
    "fleiss_kappa": "_agreement",
    "gwet_ac1": "_agreement",
    "krippendorff_alpha": "_agreement",
    "pairwise_cohen_kappa": "_agreement",
    "percent_agreement": "_agreement",
    "annotator_report": "_annotators",
    "loo_agreement": "_annotators",
    "SCHEMA": "_audit",
    "AuditResult": "_audit",
    "audit": "_audit",
    "Estimate": "_bootstrap",
    "item_bootstrap": "_bootstrap",
    "brennan_prediger": "_classic",
    "cohen_kappa_inference": "_classic",
    "conger_kappa": "_classic",
    "fleiss_category_kappas": "_classic",
    "fleiss_kappa_se": "_classic",
    "fleiss_kappa_se_h0": "_classic",
    "ItemCounts": "_counts",
    "DawidSkeneResult": "_dawid_skene",
    "dawid_skene": "_dawid_skene",
    "make_demo_preferences": "_demo",
    "CodedRatings": "_load",
    "encode_ratings": "_load",
    "read_table": "_load",
    "pseudonymise": "_privacy",
    "suppression_mask": "_privacy",
}

__all__ = [
    "SCHEMA",
    "AuditResult",
    "CodedRatings",
    "Coefficient",
    "DawidSkeneResult",
    "Estimate",
    "ItemCounts",
    "agreement",
    "agreement_frame",
    "annotator_report",
    "audit",
    "brennan_prediger",
    "cohen_kappa",
    "cohen_kappa_inference",
    "conger_kappa",
    "dawid_skene",
    "encode_ratings",
    "fleiss_category_kappas",
    "fleiss_kappa",
    "fleiss_kappa_se",
    "fleiss_kappa_se_h0",
    "gwet_ac1",
    "item_bootstrap",
    "krippendorff_alpha",
    "loo_agreement",
    "make_demo_preferences",
    "pairwise_cohen_kappa",
    "percent_agreement",
    "pseudonymise",
    "read_table",
    "suppression_mask",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'rlhf_eval.audit' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"rlhf_eval.audit.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from rlhf_eval.audit._agreement import (
        Coefficient,
        agreement,
        agreement_frame,
        cohen_kappa,
        fleiss_kappa,
        gwet_ac1,
        krippendorff_alpha,
        pairwise_cohen_kappa,
        percent_agreement,
    )
    from rlhf_eval.audit._annotators import annotator_report, loo_agreement
    from rlhf_eval.audit._audit import SCHEMA, AuditResult, audit
    from rlhf_eval.audit._bootstrap import Estimate, item_bootstrap
    from rlhf_eval.audit._classic import (
        brennan_prediger,
        cohen_kappa_inference,
        conger_kappa,
        fleiss_category_kappas,
        fleiss_kappa_se,
        fleiss_kappa_se_h0,
    )
    from rlhf_eval.audit._counts import ItemCounts
    from rlhf_eval.audit._dawid_skene import DawidSkeneResult, dawid_skene
    from rlhf_eval.audit._demo import make_demo_preferences
    from rlhf_eval.audit._load import CodedRatings, encode_ratings, read_table
    from rlhf_eval.audit._privacy import pseudonymise, suppression_mask
