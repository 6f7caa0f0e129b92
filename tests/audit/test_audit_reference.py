"""Every case of ../shared/reference/agreement_cases.json, to 1e-9 where the value is given in
full and to the printed precision otherwise."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from rlhf_eval.audit import (
    ItemCounts,
    brennan_prediger,
    cohen_kappa,
    cohen_kappa_inference,
    conger_kappa,
    encode_ratings,
    fleiss_category_kappas,
    fleiss_kappa,
    fleiss_kappa_se,
    fleiss_kappa_se_h0,
    gwet_ac1,
    krippendorff_alpha,
    pairwise_cohen_kappa,
    percent_agreement,
)

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "agreement_cases.json"
if not REFERENCE.is_file():  # the checkout may sit elsewhere; /work/shared is the shared copy
    REFERENCE = Path("/work/shared/reference/agreement_cases.json")
CASES: dict[str, Any] = json.loads(REFERENCE.read_text()) if REFERENCE.is_file() else {}
pytestmark = pytest.mark.skipif(not CASES, reason="shared/reference/agreement_cases.json not found")

FULL = 1e-9
LEVELS = ("nominal", "ordinal", "interval", "ratio")


def printed(value: float) -> float:
    """Half a unit in the last printed digit of ``value``."""
    text = repr(value)
    decimals = len(text.split(".")[1]) if "." in text else 0
    return 0.5 * 10.0**-decimals + 1e-12


def long_frame(data: list[list[float | None]]) -> pd.DataFrame:
    """Raters x items reliability data as a long ratings table."""
    rows = [(f"u{u}", f"r{r}", v) for r, row in enumerate(data) for u, v in enumerate(row) if v is not None]
    return pd.DataFrame(rows, columns=["item_id", "annotator_id", "label"])


def test_every_reference_case_is_covered() -> None:
    covered = {
        "krippendorff_2011_C_4obs_12units",
        "krippendorff_2011_A_binary_2obs",
        "krippendorff_2011_B_nominal_2obs",
        "wikipedia_krippendorff_3coders_15units",
        "fleiss_1971_diagnoses_30x6",
        "wikipedia_fleiss_10subj_14raters_counts",
        "cohen_wikipedia_2x2",
        "cohen_sas_3x3_statsmodels",
    }
    assert set(CASES) == covered


@pytest.mark.parametrize("level", LEVELS)
def test_krippendorff_2011_c_all_levels(level: str) -> None:
    case = CASES["krippendorff_2011_C_4obs_12units"]
    expected = case["computed_krippendorff_0.9.0"][level]
    from_matrix = krippendorff_alpha(case["data"], level)
    from_long = krippendorff_alpha(long_frame(case["data"]), level)
    assert abs(from_matrix - expected) < FULL
    assert abs(from_long - expected) < FULL
    assert abs(round(from_matrix, 3) - case["published"][level]) < 1e-12


def test_krippendorff_2011_c_irrcac_coefficients() -> None:
    case = CASES["krippendorff_2011_C_4obs_12units"]
    ref = case["computed_irrCAC_0.4.4_pandas2"]
    ic = ItemCounts.from_matrix(case["data"])
    coded = encode_ratings(long_frame(case["data"]))
    got = {
        "gwet_ac1": gwet_ac1(ic),
        "fleiss_kappa": fleiss_kappa(ic),
        "conger_kappa": conger_kappa(coded),
        "brennan_prediger": brennan_prediger(ic),
        "krippendorff_alpha": krippendorff_alpha(ic),
        "percent_agreement": percent_agreement(ic),
    }
    assert set(got) == set(ref)
    for name, value in got.items():
        assert abs(value - ref[name]) < printed(ref[name]), name


@pytest.mark.parametrize("name", ["krippendorff_2011_A_binary_2obs", "krippendorff_2011_B_nominal_2obs"])
def test_two_observer_cases(name: str) -> None:
    case = CASES[name]
    alpha = krippendorff_alpha(case["data"], "nominal")
    assert abs(alpha - case["computed"]["alpha_nominal"]) < FULL
    assert abs(round(alpha, 3) - case["published"]["nominal"]) < 1e-12
    kappa = pairwise_cohen_kappa(long_frame(case["data"]), min_shared_items=2)
    assert abs(kappa - case["computed"]["cohen_kappa"]) < FULL
    # the same from the 2 x 2 (or C x C) confusion matrix
    a, b = (np.array(row) for row in case["data"])
    cats = np.unique(np.r_[a, b])
    conf = np.array([[np.sum((a == x) & (b == y)) for y in cats] for x in cats])
    assert abs(cohen_kappa(conf) - case["computed"]["cohen_kappa"]) < FULL


@pytest.mark.parametrize("level", LEVELS)
def test_wikipedia_krippendorff(level: str) -> None:
    case = CASES["wikipedia_krippendorff_3coders_15units"]
    assert abs(krippendorff_alpha(case["data"], level) - case["computed"][level]) < FULL
    assert abs(krippendorff_alpha(long_frame(case["data"]), level) - case["computed"][level]) < FULL


def test_fleiss_1971() -> None:
    case = CASES["fleiss_1971_diagnoses_30x6"]
    ref = case["computed"]
    ic = ItemCounts.from_matrix(case["data"], layout="items_x_raters")
    kappa = fleiss_kappa(ic)
    assert abs(kappa - ref["fleiss_kappa"]) < FULL
    assert abs(round(kappa, 2) - case["published"]["kappa"]) < 1e-12
    for got, want in zip(fleiss_category_kappas(ic), ref["per_category_kappa"], strict=True):
        assert abs(got - want) < printed(want)
    se0 = fleiss_kappa_se_h0(ic)
    assert abs(se0 - ref["se_H0"]) < printed(ref["se_H0"])
    assert abs(kappa / se0 - ref["z_H0"]) < printed(ref["z_H0"])
    assert abs(brennan_prediger(ic) - ref["randolph_kappa"]) < FULL
    assert abs(krippendorff_alpha(ic) - ref["krippendorff_nominal"]) < FULL
    assert abs(gwet_ac1(ic) - ref["gwet_ac1"]) < printed(ref["gwet_ac1"])
    assert abs(fleiss_kappa_se(ic) - ref["irrCAC_fleiss_se_general"]) < printed(
        ref["irrCAC_fleiss_se_general"]
    )


def test_wikipedia_fleiss_counts() -> None:
    case = CASES["wikipedia_fleiss_10subj_14raters_counts"]
    ic = ItemCounts.from_counts(case["data_counts"])
    assert abs(fleiss_kappa(ic) - case["computed"]["fleiss_kappa"]) < FULL
    assert abs(round(fleiss_kappa(ic), 2) - case["published"]["kappa"]) < 1e-12
    assert abs(krippendorff_alpha(ic) - case["computed"]["krippendorff_nominal_value_counts"]) < FULL


def test_cohen_wikipedia_2x2() -> None:
    case = CASES["cohen_wikipedia_2x2"]
    res = cohen_kappa_inference(case["confusion"])
    assert abs(cohen_kappa(case["confusion"]) - case["computed"]["kappa"]) < FULL
    assert abs(res["kappa"] - case["published"]["kappa"]) < FULL
    assert abs(res["ase"] - case["computed"]["ase"]) < FULL
    assert abs(res["ci_low"] - case["computed"]["ci95"][0]) < FULL
    assert abs(res["ci_high"] - case["computed"]["ci95"][1]) < FULL


def test_cohen_sas_3x3() -> None:
    case = CASES["cohen_sas_3x3_statsmodels"]
    conf = case["confusion"]
    assert abs(cohen_kappa(conf) - case["computed"]["kappa"]) < FULL
    assert abs(cohen_kappa(conf, "linear") - case["computed"]["linear"]) < FULL
    assert abs(cohen_kappa(conf, "quadratic") - case["computed"]["quadratic"]) < FULL
    sas = case["published_SAS"]
    res = cohen_kappa_inference(conf)
    assert abs(res["kappa"] - sas["kappa"]) < printed(sas["kappa"])
    assert abs(res["ase"] - sas["ase"]) < printed(sas["ase"])
    assert abs(res["ci_low"] - sas["ci95"][0]) < printed(sas["ci95"][0])
    assert abs(res["ci_high"] - sas["ci95"][1]) < printed(sas["ci95"][1])
    assert abs(res["ase_h0"] - sas["ase_H0"]) < printed(sas["ase_H0"])
    assert abs(res["z"] - sas["z"]) < printed(sas["z"])
    assert abs(cohen_kappa(conf, "linear") - sas["weighted_linear_kappa"]) < printed(
        sas["weighted_linear_kappa"]
    )
