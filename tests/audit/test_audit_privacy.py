"""Small-cell suppression, pseudonyms, and the audit's behaviour without optional inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rlhf_eval.audit import audit, pseudonymise, suppression_mask


def test_one_dimensional_complementary_suppression() -> None:
    assert suppression_mask([50, 30, 8], 5).tolist() == [False, False, False]
    # 3 alone would be recoverable from the total, so the next smallest cell goes too
    assert suppression_mask([50, 30, 3], 5).tolist() == [False, True, True]
    assert suppression_mask([50, 3, 2], 5).tolist() == [False, True, True]
    # zero cells identify nobody and stay visible
    assert suppression_mask([50, 0, 9], 5).tolist() == [False, False, False]


def test_two_dimensional_suppression_protects_rows_and_columns() -> None:
    table = np.array([[20, 3, 15], [12, 10, 9], [30, 25, 40]])
    hidden = suppression_mask(table, 5)
    assert hidden[0, 1]
    for axis in (0, 1):
        per_line = hidden.sum(axis=axis)
        assert np.all((per_line == 0) | (per_line >= 2))


def test_pseudonyms_are_keyed_and_stable() -> None:
    a = pseudonymise(["w1", "w2"], b"key")
    assert a == pseudonymise(["w1", "w2"], b"key")
    assert a != pseudonymise(["w1", "w2"], b"other")
    assert all(p.startswith("ann-") and len(p) == 16 for p in a)
    assert len(set(a)) == 2


def test_audit_without_optional_inputs() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "item_id": np.repeat(np.arange(40), 3),
            "annotator_id": rng.integers(0, 12, 120),
            "label": rng.integers(1, 6, 120),
        }
    )
    result = audit(frame, level="interval", n_bootstrap=30, n_permutations=10, pseudonym_key="k")
    report = result.report
    assert report["representation"] == {} and report["by_group"] == {}
    assert report["group_differences"] == [] and report["within_vs_across"] == {}
    assert report["whose_preferences"] == {
        "available": False,
        "reason": "labels are not pairwise preferences",
    }
    assert report["welfare"] == {"available": False, "reason": "no harm column"}
    assert report["input"]["n_duplicate_ratings"] == 120 - len(
        frame.drop_duplicates(["item_id", "annotator_id"])
    )
    assert report["input"]["label_kind"] == "numeric"


def test_missing_labels_and_duplicates_are_counted() -> None:
    frame = pd.DataFrame(
        {
            "item_id": ["a", "a", "a", "b", "b", "c"],
            "annotator_id": ["x", "y", "y", "x", "y", "z"],
            "label": ["A", "B", "A", "A", None, "B"],
        }
    )
    result = audit(frame, n_bootstrap=0, n_permutations=0, pseudonym_key="k")
    report = result.report
    assert report["input"]["n_missing_labels"] == 1
    assert report["input"]["n_duplicate_ratings"] == 1
    assert report["input"]["n_ratings"] == 4
    assert report["n_excluded_items"] == 2 and report["n_items_used"] == 1
    assert report["agreement"]["percent_agreement"]["value"] == pytest.approx(0.0)


@pytest.mark.parametrize(
    "case",
    [
        "single_group_attribute",
        "nobody_in_table",
        "one_annotator",
        "all_single",
        "ratio",
        "harm_unknown",
        "nan_rewards",
    ],
)
def test_degenerate_inputs_run_cleanly(case: str) -> None:
    """Degenerate designs give nulls and notes, never an exception or a numpy warning."""
    import warnings

    from rlhf_eval._io import dumps

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "item_id": np.repeat(np.arange(30), 3),
            "annotator_id": rng.integers(0, 10, 90),
            "label": rng.integers(0, 3, 90),
        }
    )
    annotators = pd.DataFrame(
        {"annotator_id": np.arange(10), "only": ["x"] * 10, "two": ["a"] * 5 + ["b"] * 5}
    )
    level = "nominal"
    if case == "nobody_in_table":
        annotators = pd.DataFrame({"annotator_id": [100, 101], "g": ["a", "b"]})
    elif case == "one_annotator":
        frame = frame.assign(annotator_id=1).drop_duplicates(["item_id"])
    elif case == "all_single":
        frame = frame.drop_duplicates("item_id")
    elif case == "ratio":
        level = "ratio"
    elif case == "harm_unknown":
        frame = frame.assign(harm=np.nan)
    elif case == "nan_rewards":
        frame = frame.assign(
            label=np.array(["A", "B", "tie"])[frame["label"]], reward_a=np.nan, reward_b=np.nan
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = audit(frame, annotators, level=level, n_bootstrap=20, n_permutations=10, min_group_size=2)
    dumps(result.report)  # strict JSON
    if case in ("one_annotator", "all_single"):
        assert result.report["agreement"]["krippendorff_alpha"]["value"] is None
    if case == "nobody_in_table":
        assert "not in annotators" in result.report["warnings"][0]
