"""Small file helpers shared by every stage: atomic writes and the one robust text reader.

Every loader reads text through :func:`read_text` (directly or via :func:`read_json` and
:func:`iter_jsonl`), so an empty file, a BOM, CRLF line ends, a stray non-UTF-8 byte or an
over-long line get the same handling and the same one-line error everywhere.
"""

from __future__ import annotations

import codecs
import gzip
import json
import os
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from rlhf_eval.errors import UserError


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` via a temp file in the same folder and a rename.

    A crash never leaves a half-written file over a good one.
    """
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` via a temp file in the same folder and a rename (see atomic_write_text)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def dumps(obj: Any, indent: int | None = 2) -> str:
    """JSON with NaN/inf mapped to null, so every file we write is strict JSON."""
    return json.dumps(_clean(obj), indent=indent, ensure_ascii=False, allow_nan=False)


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented, strict JSON, atomically."""
    atomic_write_text(path, dumps(obj) + "\n")


def atomic_write_jsonl(path: str | os.PathLike[str], rows: Iterable[Any]) -> None:
    """Write one JSON object per line, atomically."""
    atomic_write_text(path, "".join(dumps(r, indent=None) + "\n" for r in rows))


#: The longest line (bytes) a line-oriented input file -- JSONL, CSV/TSV, YAML -- may hold.
#: One record of prompts and responses is kilobytes to a few megabytes; a line past this is
#: almost always the wrong file (binary data, a whole dump on one line), and the limit keeps
#: reading bounded instead of pulling gigabytes into one string. Whole JSON documents (.json)
#: are exempt: ``json.dump`` writes them on one line. Large files of many lines are fine.
MAX_LINE_BYTES = 32 * 1024 * 1024

_CHUNK_BYTES = 4 * 1024 * 1024


def read_text(
    path: str | os.PathLike[str],
    *,
    expect: str | None = None,
    allow_empty: bool = False,
    max_line_bytes: int | None = MAX_LINE_BYTES,
) -> str:
    """Read a UTF-8 text file the one way every loader does, with one-line errors naming the file.

    A UTF-8 byte-order mark is dropped and CRLF line ends become ``\n`` (both are valid input,
    written by Windows editors and Excel). A byte that is not UTF-8 is an error naming the
    line and column; so is a line longer than ``max_line_bytes`` (see :data:`MAX_LINE_BYTES`;
    ``None`` for whole-document formats such as JSON). An empty or whitespace-only file is an
    error (``"empty file (expected EXPECT)"``) unless ``allow_empty``, for formats whose own
    parser says better what an empty file lacks. ``.gz`` files are decompressed.
    """
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: file not found")
    data = _read_bytes(p, max_line_bytes)
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise UserError(
            f"{p}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x} at column {column}; "
            "re-save the file as UTF-8)"
        ) from None
    text = text.replace("\r\n", "\n")
    if not allow_empty and not text.strip():
        raise UserError(f"{p}: empty file" + (f" (expected {expect})" if expect else ""))
    return text


def _read_bytes(p: Path, max_line_bytes: int | None) -> bytes:
    """The file's bytes, read in chunks so an over-long line fails before the rest is read."""
    chunk_size = _CHUNK_BYTES if max_line_bytes is None else max(1, min(_CHUNK_BYTES, max_line_bytes))
    chunks: list[bytes] = []
    run = 0  # bytes of the current, unfinished line
    line = 1
    try:
        with gzip.open(p, "rb") if p.suffix.lower() == ".gz" else p.open("rb") as fh:
            while chunk := fh.read(chunk_size):
                chunks.append(chunk)
                if max_line_bytes is None:
                    continue
                # a line inside one chunk is shorter than the chunk, hence than the limit:
                # only the line crossing into this chunk needs checking
                first = chunk.find(b"\n")
                if first < 0:
                    run += len(chunk)
                elif run + first > max_line_bytes:
                    run += first
                else:
                    line += chunk.count(b"\n")
                    run = len(chunk) - chunk.rfind(b"\n") - 1
                if run > max_line_bytes:
                    raise UserError(
                        f"{p}:{line}: line longer than {max_line_bytes / 2**20:g} MiB, the limit "
                        "(rlhf_eval._io.MAX_LINE_BYTES) for one line of a text input; is this the right file?"
                    )
    except (OSError, EOFError, zlib.error) as exc:
        raise UserError(f"{p}: cannot read ({type(exc).__name__}: {exc})") from None
    return b"".join(chunks)


def read_json(path: str | os.PathLike[str]) -> Any:
    """Read a JSON file, raising a one-line :class:`UserError` naming the file on failure."""
    p = Path(path)
    text = read_text(p, expect="a JSON document", max_line_bytes=None)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{p}:{exc.lineno}: invalid JSON ({exc.msg})") from None


def iter_jsonl(
    path: str | os.PathLike[str], *, allow_empty: bool = True
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, object)`` for each non-blank line; bad lines raise UserError.

    Reads through :func:`read_text` (BOM, CRLF, non-UTF-8 bytes, :data:`MAX_LINE_BYTES`).
    With ``allow_empty=False`` a file without a single object is an error naming the file:
    inputs that need rows (items, recorded responses, samples, labels) say so at the file
    instead of failing later with an empty result. Filters such as ``classify-refusals``
    keep the default: empty in, empty out.
    """
    p = Path(path)
    text = read_text(p, allow_empty=True)
    n_objects = 0
    start, lineno, size = 0, 0, len(text)
    while start < size:
        end = text.find("\n", start)
        line = text[start:] if end < 0 else text[start:end]
        start = size if end < 0 else end + 1
        lineno += 1
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            if end < 0:  # only the last line can lack its newline
                raise UserError(
                    f"{p}:{lineno}: truncated (the last line is cut mid-JSON; was the run interrupted?)"
                ) from None
            raise UserError(f"{p}:{lineno}: invalid JSON ({exc.msg})") from None
        if not isinstance(obj, dict):
            raise UserError(f"{p}:{lineno}: expected a JSON object, got {type(obj).__name__}")
        n_objects += 1
        yield lineno, obj
    if not n_objects and not allow_empty:
        raise UserError(f"{p}: empty file (expected one JSON object per line)")


def read_jsonl(path: str | os.PathLike[str], *, allow_empty: bool = True) -> list[dict[str, Any]]:
    """Read a whole JSONL file of objects (see :func:`iter_jsonl`)."""
    return [obj for _, obj in iter_jsonl(path, allow_empty=allow_empty)]


def _clean(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if obj == obj and obj not in (float("inf"), float("-inf")) else None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        return _clean(obj.item())
    if hasattr(obj, "tolist") and callable(obj.tolist):  # numpy arrays
        return _clean(obj.tolist())
    return obj
