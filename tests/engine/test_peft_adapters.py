"""PEFT adapters in model specs: loading, merging, fingerprints, run.json, and bad adapters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rlhf_eval.cli import main
from rlhf_eval.errors import UserError
from rlhf_eval.models import LoglikelihoodRequest, load_model
from rlhf_eval.models._adapter import AdapterSpec, full_spec, split_spec


def _make_adapter(base_dir: Path, out: Path, seed: int, r: int = 4) -> Path:
    """A LoRA adapter with non-zero random B (a fresh LoRA is a no-op) saved by peft."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    base = AutoModelForCausalLM.from_pretrained(base_dir)
    cfg = LoraConfig(
        r=r, lora_alpha=2 * r, target_modules=["q_proj", "v_proj", "down_proj"], init_lora_weights=False
    )
    model = get_peft_model(base, cfg)
    model.save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def adapter_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _make_adapter(tiny_model_dir, tmp_path_factory.mktemp("lora") / "a", seed=1)


def test_split_spec_round_trips() -> None:
    base, ad = split_spec("hf:/m+adapter=/x/y+merge=no")
    assert base == "hf:/m" and ad == AdapterSpec("/x/y", merge=False)
    assert full_spec(base, ad) == "hf:/m+adapter=/x/y+merge=no"
    assert split_spec("embedded:smollm2-135m-instruct") == ("embedded:smollm2-135m-instruct", None)
    assert split_spec("hf:/m", "/a") == ("hf:/m", AdapterSpec("/a"))
    with pytest.raises(UserError, match="already names an adapter"):
        split_spec("hf:/m+adapter=/a", "/b")
    with pytest.raises(UserError, match="yes or no"):
        split_spec("hf:/m+adapter=/a+merge=maybe")


def test_adapter_changes_outputs_and_merge_matches_unmerged(tiny_model_dir: Path, adapter_dir: Path) -> None:
    reqs = [LoglikelihoodRequest("The capital of France is", " Paris"), LoglikelihoodRequest("2+2=", " 4")]
    base = load_model(f"hf:{tiny_model_dir}")
    merged = load_model(f"hf:{tiny_model_dir}+adapter={adapter_dir}")
    unmerged = load_model(f"hf:{tiny_model_dir}+adapter={adapter_dir}+merge=no")
    lb, lm, lu = ([r.logprob for r in m.loglikelihood(reqs)] for m in (base, merged, unmerged))
    assert max(abs(a - b) for a, b in zip(lb, lm, strict=True)) > 1e-3  # the adapter does something
    assert lm == pytest.approx(lu, abs=1e-4)  # merging changes nothing but float rounding
    fps = {base.info.fingerprint, merged.info.fingerprint, unmerged.info.fingerprint}
    assert len(fps) == 3
    details = merged.info.details["adapter"]
    assert details["peft_type"] == "LORA" and details["r"] == 4 and details["merged"] is True
    assert details["base_fingerprint"] == base.info.fingerprint
    assert unmerged.info.details["matmul"] == "aten"  # LoRA wrappers stay on plain aten linears
    assert merged.info.details["matmul"] == base.info.details["matmul"]


def test_run_records_base_and_adapter(
    tiny_model_dir: Path, adapter_dir: Path, items_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    code = main(
        [
            "run", "--model", f"hf:{tiny_model_dir}", "--adapter", str(adapter_dir), "--suite", str(items_file),
            "--max-new-tokens", "4", "--out", str(out), "--quiet", "--cache-dir", str(tmp_path / "cache"),
        ]
    )  # fmt: skip
    assert code == 0
    run = json.loads((out / "run.json").read_text())
    assert run["model"]["spec"] == f"hf:{tiny_model_dir}+adapter={adapter_dir}"
    assert run["model"]["details"]["adapter"]["path"] == str(adapter_dir)


def test_changed_adapter_weights_change_the_cache_key(tiny_model_dir: Path, tmp_path: Path) -> None:
    a = _make_adapter(tiny_model_dir, tmp_path / "a", seed=1)
    b = _make_adapter(tiny_model_dir, tmp_path / "b", seed=2)
    fa = load_model(f"hf:{tiny_model_dir}+adapter={a}").info.fingerprint
    fb = load_model(f"hf:{tiny_model_dir}+adapter={b}").info.fingerprint
    assert fa != fb


def _run_err(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1
    return err


def test_bad_adapters_are_one_line_exit_2(
    tiny_model_dir: Path, items_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = ["run", "--suite", str(items_file), "--out", str(tmp_path / "o"), "--quiet"]
    err = _run_err([*run, "--model", f"hf:{tiny_model_dir}+adapter={tmp_path / 'nope'}"], capsys)
    assert "no such folder" in err
    (tmp_path / "empty").mkdir()
    err = _run_err([*run, "--model", f"hf:{tiny_model_dir}", "--adapter", str(tmp_path / "empty")], capsys)
    assert "no adapter_config.json" in err
    # an adapter made for a model with other shapes
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    cfg = AutoConfig.from_pretrained(tiny_model_dir)
    cfg.hidden_size, cfg.intermediate_size = 32, 64
    torch.manual_seed(0)
    other = tmp_path / "other-base"
    AutoModelForCausalLM.from_config(cfg).save_pretrained(other)
    foreign = _make_adapter(other, tmp_path / "foreign", seed=3)
    err = _run_err([*run, "--model", f"hf:{tiny_model_dir}+adapter={foreign}"], capsys)
    assert "does not fit this base model" in err
    # same shapes, but our recipe's record of the base says otherwise
    same = _make_adapter(tiny_model_dir, tmp_path / "same", seed=4)
    (same / "rlhf_eval_base.json").write_text(json.dumps({"base_fingerprint": "sha256:another"}))
    err = _run_err([*run, "--model", f"hf:{tiny_model_dir}+adapter={same}"], capsys)
    assert "trained on another base model" in err
    err = _run_err([*run, "--model", f"recorded:{items_file}+adapter={same}"], capsys)
    assert "hf: and embedded:" in err
