"""`rlhf-eval import lm-eval`: real lm-evaluation-harness output -> run directories that compare like native runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from interop_logs import DATA, MMLU_FILE

from rlhf_eval.cli import main
from rlhf_eval.compare import compare_runs
from rlhf_eval.interop import import_lm_eval, import_logs

SMALL = DATA / "lm_eval_small"  # written by lm-eval 0.4.13 itself (tests/interop/interop_logs.py)


def _lines(pattern: str) -> list[dict[str, Any]]:
    (path,) = sorted((SMALL / "tiny-model").glob(pattern))
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_small_fixture_maps_every_metric(tmp_path: Path) -> None:
    res = import_lm_eval(SMALL, tmp_path / "run", category_field="subject")
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["schema"] == "rlhf-eval/run/1"
    assert run["imported"]["tool"] == "lm-eval" and run["versions"]["lm_eval"] == "0.4.13"
    assert run["imported"]["git_hash"] and run["imported"]["config"]["model"] == "hf"
    assert run["model"]["backend"] == "lm-eval" and "pretrained=" in run["model"]["spec"]
    assert run["model"]["details"]["model_num_parameters"] > 0
    assert set(run["suites"]) == {"mmlu_small", "gen_tiny"}
    assert run["suites"]["mmlu_small"]["n_items"] == 6 and run["suites"]["mmlu_small"]["task_version"] == 1.0

    mc_lines = _lines("samples_mmlu_small_*.jsonl")
    mc = [s for s in res.samples if s["suite"] == "mmlu_small"]
    assert [s["item_id"] for s in mc] == [line["doc_hash"][:16] for line in mc_lines]
    for s, line in zip(mc, mc_lines, strict=True):
        assert s["task"] == "multiple_choice" and s["choices"] == [" A", " B", " C", " D"]
        assert s["choice_logprobs"] == [float(r[0][0]) for r in line["resps"]]
        assert s["gold"] == int(line["target"]) == line["doc"]["answer"]
        assert s["metrics"]["acc"] == line["acc"] and s["metrics"]["acc_norm"] == line["acc_norm"]
        assert s["metrics"]["correct"] == line["acc"]  # our accuracy scorer agrees with lm-eval's acc
        assert s["prompt"] == line["arguments"]["gen_args_0"]["arg_0"]
        assert s["category"] == line["doc"]["subject"]
    scores = res.scores["mmlu_small"]
    assert set(scores) == {"accuracy", "ece", "brier", "acc", "acc_norm"}
    acc = sum(line["acc"] for line in mc_lines) / 6
    assert scores["acc"]["value"] == pytest.approx(acc) == scores["accuracy"]["value"]
    assert scores["acc"]["kind"] == "proportion" and scores["acc"]["n"] == 6
    assert scores["acc"]["reported"]["value"] == pytest.approx(
        acc
    )  # lm-eval's own aggregate, kept beside ours
    assert set(scores["acc"]["by_category"]) == {line["doc"]["subject"] for line in mc_lines}

    gen = [s for s in res.samples if s["suite"] == "gen_tiny"]
    gen_lines = _lines("samples_gen_tiny_*.jsonl")  # one line per document and filter
    assert len(gen) == 6 and len(gen_lines) == 12
    assert set(res.scores["gen_tiny"]) == {"exact_match_strict_match", "exact_match_flexible_extract"}
    for s in gen:
        by_filter = {ln["filter"]: ln for ln in gen_lines if ln["doc_id"] == s["meta"]["doc_id"]}
        assert s["metrics"] == {
            "exact_match_strict_match": by_filter["strict-match"]["exact_match"],
            "exact_match_flexible_extract": by_filter["flexible-extract"]["exact_match"],
        }
        assert s["response"] == by_filter["strict-match"]["resps"][0][0]
        assert (
            s["meta"]["filtered_resps"]["flexible-extract"]
            == by_filter["flexible-extract"]["filtered_resps"][0]
        )
    assert res.warnings == []


def test_content_ids_survive_reordering(tmp_path: Path) -> None:
    """The same documents logged under other doc_ids (a shuffled dataset) still pair by content."""
    shuffled = tmp_path / "shuffled"
    shutil.copytree(SMALL, shuffled)
    for path in (shuffled / "tiny-model").glob("samples_*.jsonl"):
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        for r in rows:
            r["doc_id"] = 5 - r["doc_id"]
        path.write_text("".join(json.dumps(r) + "\n" for r in reversed(rows)))
    for mode, expect_flips in (("doc_hash", False), ("doc_id", True)):
        import_logs(SMALL, tmp_path / f"a-{mode}", item_id=mode)  # type: ignore[arg-type]
        import_logs(shuffled, tmp_path / f"b-{mode}", item_id=mode)  # type: ignore[arg-type]
        comp = compare_runs(tmp_path / f"a-{mode}", tmp_path / f"b-{mode}", n_resamples=200).to_dict()
        row = next(r for r in comp["metrics"] if r["path"] == "mmlu_small.acc")
        assert row["n"] == 6
        flipped = bool(row["flips"]["good_to_bad"] or row["flips"]["bad_to_good"])
        assert flipped is expect_flips, mode  # doc_id pairing matches different documents


def test_cli_auto_detects_each_entry_point(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (results,) = sorted((SMALL / "tiny-model").glob("results_*.json"))
    (samples,) = sorted((SMALL / "tiny-model").glob("samples_mmlu_small_*.jsonl"))
    outs = []
    for k, path in enumerate((SMALL, SMALL / "tiny-model", results, samples)):
        out = tmp_path / f"run{k}"
        assert main(["import", "auto", str(path), "--out", str(out)]) == 0
        outs.append((out / "samples.jsonl").read_text())
    assert len(set(outs)) == 1
    err = capsys.readouterr().err
    assert "mmlu_small     accuracy" in err and "from lm-eval 0.4.13" in err


@pytest.mark.slow
def test_imported_lm_eval_compares_like_native_runs(
    tmp_path: Path,
    two_models: tuple[Path, Path],
    lm_eval_outputs: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Before/after from lm-eval logs gives the statistics of the same models run natively."""
    monkeypatch.setenv("RLHF_EVAL_CACHE", str(tmp_path / "cache"))
    for side, model, lm_out in zip(("before", "after"), two_models, lm_eval_outputs, strict=True):
        assert main(["import", "lm-eval", str(lm_out), "--out", str(tmp_path / f"imp-{side}"),
                     "--category-field", "subject", "--quiet"]) == 0  # fmt: skip
        assert main(["run", "--model", f"hf:{model}", "--suite", f"mmlu:{MMLU_FILE}", "--no-chat-template",
                     "--out", str(tmp_path / f"nat-{side}"), "--quiet"]) == 0  # fmt: skip

        # per item: the same prompt, the same log-likelihoods (to float tolerance), the same answer
        nat = [json.loads(x) for x in (tmp_path / f"nat-{side}" / "samples.jsonl").read_text().splitlines()]
        imp = [json.loads(x) for x in (tmp_path / f"imp-{side}" / "samples.jsonl").read_text().splitlines()]
        assert len(nat) == len(imp) == 24
        for n, i in zip(nat, imp, strict=True):
            assert n["item_id"] == f"mmlu-{i['meta']['doc_id']}"
            assert n["prompt"] == i["prompt"] and n["choices"] == i["choices"] and n["gold"] == i["gold"]
            assert n["choice_logprobs"] == pytest.approx(i["choice_logprobs"], abs=1e-4)
            assert (
                n["pred"] == i["pred"]
                and n["metrics"]["correct"] == i["metrics"]["correct"] == i["metrics"]["acc"]
            )
            assert n["category"] == i["category"]

    native = compare_runs(tmp_path / "nat-before", tmp_path / "nat-after", n_resamples=2000).to_dict()
    imported = compare_runs(tmp_path / "imp-before", tmp_path / "imp-after", n_resamples=2000).to_dict()
    to_doc = {f"mmlu-{i['meta']['doc_id']}": i["item_id"] for i in imp}
    imp_rows = {r["path"]: r for r in imported["metrics"]}
    nat_rows = native["metrics"]
    assert {r["metric"] for r in nat_rows} == {"accuracy", "ece", "brier"}
    assert len(nat_rows) == 12  # 3 metrics x (headline + 3 subjects)
    worst: dict[str, float] = {"proportion": 0.0, "mean": 0.0, "ece": 0.0}
    for a in nat_rows:
        pairs = [imp_rows[a["path"]]]
        if a["metric"] == "accuracy":  # lm-eval's own per-item acc gives the same statistics
            pairs.append(imp_rows[a["path"].replace(".accuracy", ".acc")])
        for b in pairs:
            tol = 1e-12 if a["kind"] == "proportion" else 1e-5
            for key in ("before", "after", "delta", "p_value", "mde", "discordance", "sd_diff"):
                if a[key] is None:
                    assert b[key] is None, (a["path"], key)
                    continue
                assert b[key] == pytest.approx(a[key], abs=tol), (a["path"], key)
                worst[a["kind"]] = max(worst[a["kind"]], abs(b[key] - a[key]))
            for key in ("before_ci", "after_ci", "delta_ci"):
                assert b[key] == pytest.approx(a[key], abs=tol), (a["path"], key)
                worst[a["kind"]] = max(
                    worst[a["kind"]], *(abs(x - y) for x, y in zip(a[key], b[key], strict=True))
                )
            assert (b["n"], b["test"], b["ci_method"]) == (a["n"], a["test"], a["ci_method"])
            if a["flips"] is None:  # flips are listed for 0/1 metrics only
                assert b["flips"] is None
                continue
            for d in ("good_to_bad", "bad_to_good"):
                assert sorted(b["flips"][d]) == sorted(to_doc[x] for x in a["flips"][d])
    print(f"largest native-vs-imported difference by kind: {worst}")
    head = next(r for r in nat_rows if r["path"] == "mmlu-mmlu_tiny.accuracy")
    assert head["test"] == "mcnemar_exact" and head["n"] == 24
    assert head["flips"]["good_to_bad"] or head["flips"]["bad_to_good"]  # the two models do differ
