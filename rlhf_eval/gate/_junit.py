"""JUnit XML for CI test reporters: one testcase per rule result (classname = suite, name = path)."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections import Counter

from rlhf_eval._io import atomic_write_text
from rlhf_eval.gate._evaluate import GateResult, RuleResult

_TESTSUITE = "rlhf-eval gate"


def _case_names(result: GateResult) -> list[str]:
    """Testcase names: the metric path, disambiguated when several results share one."""
    counts = Counter(r.path for r in result.results)
    names = []
    for r in result.results:
        if r.name:
            names.append(f"{r.path} ({r.name})")
        elif counts[r.path] > 1:
            names.append(f"{r.path} (rule {r.rule + 1}: {r.bound} {r.threshold:g})")
        else:
            names.append(r.path)
    return names


def _xml_safe(text: str) -> str:
    """Drop characters XML 1.0 cannot carry (control characters), so any reader can parse the file."""
    return "".join(c for c in text if c in "\t\n\r" or (ord(c) >= 0x20 and ord(c) not in (0xFFFE, 0xFFFF)))


def junit_xml(result: GateResult) -> str:
    """The JUnit XML document as text.

    Failed rules get ``<failure type="fail">``; inconclusive rules get
    ``<failure type="inconclusive">`` when the policy blocks on them and ``<skipped>``
    otherwise. Every message states the value, interval, bound, threshold and n.
    """
    counts = result.counts
    blocking_inc = counts["inconclusive"] if result.policy.on_inconclusive == "fail" else 0
    skipped = counts["inconclusive"] - blocking_inc
    attrs = {
        "name": _TESTSUITE,
        "tests": str(len(result.results)),
        "failures": str(counts["fail"] + blocking_inc),
        "errors": "0",
        "skipped": str(skipped),
        "time": "0",
    }
    root = ET.Element("testsuites", attrs)
    suite = ET.SubElement(root, "testsuite", attrs)
    props = ET.SubElement(suite, "properties")
    for k, v in (
        ("policy", result.policy.source),
        ("input", result.data_source),
        ("on_inconclusive", result.policy.on_inconclusive),
        ("alpha", f"{result.alpha:g}"),
        ("min_power", f"{result.policy.min_power:g}"),
        ("exit_code", str(result.exit_code)),
        ("status", result.status),
    ):
        ET.SubElement(props, "property", {"name": k, "value": _xml_safe(v)})
    for r, name in zip(result.results, _case_names(result), strict=True):
        case = ET.SubElement(
            suite, "testcase", {"classname": _xml_safe(r.suite), "name": _xml_safe(name), "time": "0"}
        )
        _add_outcome(case, r, result.blocking(r))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _add_outcome(case: ET.Element, r: RuleResult, blocking: bool) -> None:
    """Attach the failure/skipped element (or a system-out line for passes)."""
    message = _xml_safe(f"{r.status}: {r.path}: {r.message}")
    if r.status == "fail":
        el = ET.SubElement(case, "failure", {"type": "fail", "message": message})
        el.text = _details(r)
    elif r.status == "inconclusive" and blocking:
        el = ET.SubElement(case, "failure", {"type": "inconclusive", "message": message})
        el.text = _details(r)
    elif r.status == "inconclusive":
        ET.SubElement(case, "skipped", {"message": message})
    else:
        ET.SubElement(case, "system-out").text = message


def _details(r: RuleResult) -> str:
    lines = [
        f"rule {r.rule + 1}{f' ({r.name})' if r.name else ''}: {r.metric}",
        f"path: {r.path}",
        f"status: {r.status}",
        r.message,
    ]
    return _xml_safe("\n".join(lines))


def write_junit(result: GateResult, path: str | os.PathLike[str]) -> None:
    """Write the JUnit XML atomically."""
    atomic_write_text(path, junit_xml(result))
