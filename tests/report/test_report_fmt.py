"""Number formatting, significance wording and the escaping that keeps data inert."""

from __future__ import annotations

import json

from rlhf_eval.report._fmt import (
    esc,
    fmt,
    fmt_ci,
    fmt_p,
    metric_label,
    script_json,
    significance_words,
    truncate,
)


def test_numbers_with_intervals_read_naturally() -> None:
    assert fmt_ci(0.93, (0.88, 0.96)) == "0.93 [0.88, 0.96]"
    assert fmt_ci(0.13, (0.07, 0.19), signed=True) == "+0.13 [+0.07, +0.19]"
    assert fmt_ci(0.012, (0.004, 0.03)) == "0.012 [0.004, 0.030]"
    assert fmt_ci(0.5, None) == "0.50"
    assert fmt(None) == "–"
    assert fmt(1234) == "1,234"
    assert fmt(8) == "8"
    assert fmt(float("nan")) == "–"
    assert fmt(True) == "–"
    assert fmt_p(3e-5) == "<0.001"
    assert fmt_p(0.0349) == "0.035"
    assert fmt_p(None) == "–"


def test_significance_follows_the_metric_direction() -> None:
    assert significance_words(True, 0.1, True) == ("significant improvement", "better")
    assert significance_words(True, 0.1, False) == ("significant regression", "worse")
    assert significance_words(True, -0.1, False) == ("significant improvement", "better")
    assert significance_words(False, -0.1, True) == ("no significant change", "neutral")
    assert significance_words(None, -0.1, True) == ("not tested", "na")
    assert significance_words(True, 0.1, None) == ("significant change", "neutral")


def test_metric_labels() -> None:
    assert metric_label("refusal_rate", "overrefusal") == "Over-refusal rate"
    assert metric_label("refusal_rate", "harmlessness") == "Refusal rate"
    assert metric_label("mc2") == "MC2"
    assert metric_label("key_point_coverage") == "Key point coverage"


def test_script_json_cannot_close_its_script_tag() -> None:
    data = {"r": "</script><script>alert(1)</script> <!-- & \u2028\u2029"}
    text = script_json(data)
    for bad in ("<", ">", "&", "\u2028", "\u2029"):
        assert bad not in text
    assert json.loads(text) == data  # still the same data for JSON.parse


def test_html_escape_covers_attributes() -> None:
    assert esc('<img src=x onerror="a">') == "&lt;img src=x onerror=&quot;a&quot;&gt;"
    assert esc(None) == ""


def test_truncate_marks_the_cut() -> None:
    text, cut = truncate("x" * 5000, 2000)
    assert cut and text.startswith("x" * 2000) and "5,000 characters" in text
    assert truncate("short", 10) == ("short", False)
