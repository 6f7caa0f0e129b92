"""The shared reader behind every loader: ``rlhf_eval._io.read_text``, ``iter_jsonl``, ``read_json``."""

from __future__ import annotations

import codecs
import gzip
import json
import random
from pathlib import Path

import pandas as pd
import pytest

from rlhf_eval._io import MAX_LINE_BYTES, iter_jsonl, read_text
from rlhf_eval.audit import read_table
from rlhf_eval.errors import UserError


def test_the_limit_is_a_named_constant_of_32_mib() -> None:
    assert MAX_LINE_BYTES == 32 * 2**20


def test_bom_and_crlf_are_read_as_plain_text(tmp_path: Path) -> None:
    p = tmp_path / "a.txt"
    p.write_bytes(codecs.BOM_UTF8 + "id,prompt\r\n1,héllo\r\n".encode())
    assert read_text(p) == "id,prompt\n1,héllo\n"


@pytest.mark.parametrize("data", [b"", b"\n\n", b"  \r\n\t", codecs.BOM_UTF8, codecs.BOM_UTF8 + b"\r\n"])
def test_empty_and_blank_files_are_one_error(tmp_path: Path, data: bytes) -> None:
    p = tmp_path / "e.jsonl"
    p.write_bytes(data)
    with pytest.raises(UserError) as info:
        read_text(p, expect="one item per line")
    assert str(info.value) == f"{p}: empty file (expected one item per line)"
    assert read_text(p, allow_empty=True).strip() == ""


def test_non_utf8_names_line_and_column(tmp_path: Path) -> None:
    p = tmp_path / "latin1.csv"
    p.write_bytes(codecs.BOM_UTF8 + b"id,prompt\n1,ok\n2,caf\xe9\n")
    with pytest.raises(UserError) as info:
        read_text(p)
    assert str(info.value) == f"{p}:3: not UTF-8 text (byte 0xe9 at column 6; re-save the file as UTF-8)"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"nope\.txt: file not found$"):
        read_text(tmp_path / "nope.txt")


def _first_too_long(data: bytes, limit: int) -> int | None:
    """The naive answer: 1-based number of the first line longer than ``limit`` bytes."""
    for i, line in enumerate(data.split(b"\n"), 1):
        if len(line) > limit:
            return i
    return None


def test_line_limit_matches_a_naive_scan_across_chunk_boundaries(tmp_path: Path) -> None:
    """The chunked check agrees with splitting the whole file, for lines around the limit.

    Chunks are ``min(4 MiB, limit)`` bytes, so small limits put line ends at, just before
    and just after every chunk boundary.
    """
    rng = random.Random(0)
    p = tmp_path / "f.txt"
    for trial in range(400):
        limit = rng.randint(1, 12)
        lines = [
            b"x" * rng.choice([0, 1, limit - 1, limit, limit + 1, 3 * limit])
            for _ in range(rng.randint(1, 8))
        ]
        data = b"\n".join(lines) + (b"\n" if rng.random() < 0.5 else b"")
        p.write_bytes(data)
        expected = _first_too_long(data, limit)
        if expected is None:
            assert read_text(p, allow_empty=True, max_line_bytes=limit) == data.decode(), trial
        else:
            with pytest.raises(UserError, match=rf"^{p}:{expected}: line longer than "):
                read_text(p, allow_empty=True, max_line_bytes=limit)


def test_a_line_of_exactly_the_limit_loads(tmp_path: Path) -> None:
    p = tmp_path / "edge.txt"
    p.write_bytes(b"a" * 10 + b"\n" + b"b" * 11 + b"\n")
    with pytest.raises(UserError, match=r":2: line longer than "):
        read_text(p, max_line_bytes=10)
    assert read_text(p, max_line_bytes=11) == "a" * 10 + "\n" + "b" * 11 + "\n"


def test_the_limit_stops_reading_early(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An over-long line fails after about one limit's worth of bytes, not the whole file."""
    p = tmp_path / "big.jsonl"
    p.write_bytes(b"z" * 5000)
    reads: list[int] = []
    real_open = Path.open

    class Counting:
        def __init__(self, fh: object) -> None:
            self.fh = fh

        def __enter__(self) -> Counting:
            return self

        def __exit__(self, *exc: object) -> None:
            self.fh.close()  # type: ignore[attr-defined]

        def read(self, n: int) -> bytes:
            chunk: bytes = self.fh.read(n)  # type: ignore[attr-defined]
            reads.append(len(chunk))
            return chunk

    monkeypatch.setattr(Path, "open", lambda self, *a, **k: Counting(real_open(self, *a, **k)))
    with pytest.raises(UserError, match=r"big\.jsonl:1: line longer than"):
        read_text(p, max_line_bytes=100)
    assert sum(reads) <= 200


def test_a_large_file_of_many_lines_loads(tmp_path: Path) -> None:
    """Over MAX_LINE_BYTES in all, each line under it: every row loads, through JSONL and CSV."""
    big = 12 * 2**20
    rows = [{"id": str(i), "prompt": chr(ord("a") + i) * big} for i in range(3)]
    jl = tmp_path / "big.jsonl"
    jl.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert jl.stat().st_size > MAX_LINE_BYTES
    assert [obj for _, obj in iter_jsonl(jl)] == rows
    csv = tmp_path / "big.csv"
    csv.write_text("id,prompt\n" + "".join(f"{r['id']},{r['prompt']}\n" for r in rows), encoding="utf-8")
    frame = read_table(csv, string_columns=["id"])
    assert list(frame["id"]) == ["0", "1", "2"] and [len(p) for p in frame["prompt"]] == [big] * 3


def test_iter_jsonl_empty_is_an_error_only_when_asked(tmp_path: Path) -> None:
    p = tmp_path / "e.jsonl"
    p.write_text("\n \n", encoding="utf-8")
    assert list(iter_jsonl(p)) == []
    with pytest.raises(UserError) as info:
        list(iter_jsonl(p, allow_empty=False))
    assert str(info.value) == f"{p}: empty file (expected one JSON object per line)"


def test_iter_jsonl_keeps_line_numbers_and_unicode_separators(tmp_path: Path) -> None:
    """Only ``\\n`` ends a line: U+2028 inside a string (valid raw JSON) stays in its row."""
    p = tmp_path / "u.jsonl"
    p.write_bytes(codecs.BOM_UTF8 + '{"a": "x\u2028y"}\r\n\r\n{"a": 2}\r\n'.encode())
    assert list(iter_jsonl(p)) == [(1, {"a": "x\u2028y"}), (3, {"a": 2})]


def test_gzipped_csv_with_bom_and_crlf(tmp_path: Path) -> None:
    text = "item_id,annotator_id,label\r\n007,a,A\r\n007,b,B\r\n"
    plain = tmp_path / "r.csv"
    plain.write_text(text.replace("\r\n", "\n"), encoding="utf-8")
    gz = tmp_path / "r.csv.gz"
    gz.write_bytes(gzip.compress(codecs.BOM_UTF8 + text.encode()))
    got = read_table(gz, string_columns=["item_id"])
    pd.testing.assert_frame_equal(got, read_table(plain, string_columns=["item_id"]))
    assert list(got.columns) == ["item_id", "annotator_id", "label"] and got["item_id"][0] == "007"


def test_a_corrupt_gzip_is_one_error(tmp_path: Path) -> None:
    p = tmp_path / "r.csv.gz"
    p.write_bytes(b"\x1f\x8b\x08\x00 not really gzip")
    with pytest.raises(UserError, match=r"r\.csv\.gz: cannot read \("):
        read_text(p)
