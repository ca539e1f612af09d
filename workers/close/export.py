"""The files a commit writes for the invoicing tool, from its record:

    DIR/REF-entries.csv    one row per entry billed (`workers.close.lines.COLUMNS`)
    DIR/REF-summary.csv    one row per company, project and type of work, then `TOTAL`
                           (`workers.close.totals.SUMMARY_COLUMNS`)
    DIR/REF.json           the close record (`CloseRecord.document`)

CSV as RFC 4180 (comma, CRLF, quotes where needed), UTF-8. Each file is written next to its
place and renamed into it, so an invoicing tool never reads half a file. The same record gives
the same bytes, so a commit resumed after a crash writes exactly what it would have.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence
from pathlib import Path

from workers.close.lines import COLUMNS
from workers.close.record import CloseRecord
from workers.close.totals import SUMMARY_COLUMNS, summary_rows


def file_paths(out_dir: Path, reference: str) -> list[Path]:
    """Where the files of close `reference` go: entries, summary, record."""
    names = (f"{reference}-entries.csv", f"{reference}-summary.csv", f"{reference}.json")
    return [out_dir / name for name in names]


def write_files(out_dir: Path, record: CloseRecord) -> list[str]:
    """Write the three files of `record` into `out_dir` (created if needed); their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    entries, summary, document = file_paths(out_dir, record.reference)
    lines = [billed.line for billed in record.entries]
    _write(entries, _csv(COLUMNS, [line.csv_row() for line in lines]))
    _write(summary, _csv(SUMMARY_COLUMNS, summary_rows(lines, record.currency)))
    _write(document, json.dumps(record.document(), indent=2, ensure_ascii=False) + "\n")
    return [str(path) for path in (entries, summary, document)]


def _csv(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _write(path: Path, content: str) -> None:
    part = path.with_name(f".{path.name}.part")
    part.write_text(content, encoding="utf-8", newline="")
    os.replace(part, path)
