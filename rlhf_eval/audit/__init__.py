"""Preference-data audit: annotator agreement, reliability, demographic skew, welfare, privacy.

Start with :func:`audit`, which returns DataFrames and the ``audit.json`` content; the
coefficients are also available one by one. See ``rlhf_eval/audit/README.md``.
"""

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
