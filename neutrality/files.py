"""Activity rows from a CSV or XLSX file: a header row naming the columns, then one row each."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime
from typing import Any

from django.utils.translation import gettext as _

COLUMNS = (
    "row_ref",
    "site",
    "activity",
    "period",
    "quantity",
    "unit",
    "certified_kwh",
    "evidence",
    "replaces",
)
REQUIRED = ("row_ref", "site", "activity", "period", "quantity", "unit")
# A year of a group's activity is a few thousand rows; the bounds keep a wrong file cheap.
MAX_ROWS = 20_000
MAX_BYTES = 10 * 1024 * 1024
MAX_UNPACKED_BYTES = 100 * 1024 * 1024


class FileRefused(ValueError):
    """The file as a whole cannot be read; the message says why."""


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _rows(table: list[list[Any]]) -> list[dict[str, str]]:
    if not table:
        raise FileRefused(_("The file is empty."))
    header = [_text(name).lower() for name in table[0]]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise FileRefused(_("The header row lacks the columns: %(names)s.") % {"names": ", ".join(missing)})
    unknown = [name for name in header if name and name not in COLUMNS]
    if unknown:
        raise FileRefused(_("The header row has unknown columns: %(names)s.") % {"names": ", ".join(unknown)})
    body = [row for row in table[1:] if any(_text(cell) for cell in row)]
    if len(body) > MAX_ROWS:
        raise FileRefused(_("The file has more than %(n)d rows; split it.") % {"n": MAX_ROWS})
    return [
        {
            name: _text(row[position]) if position < len(row) else ""
            for position, name in enumerate(header)
            if name
        }
        for row in body
    ]


def read(name: str, content: bytes) -> list[dict[str, str]]:
    if len(content) > MAX_BYTES:
        raise FileRefused(_("The file is larger than 10 MB; split it."))
    if name.lower().endswith(".xlsx"):
        return _rows(_xlsx_table(content))
    if name.lower().endswith(".csv"):
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise FileRefused(_("The CSV file is not UTF-8 text.")) from None
        return _rows(list(csv.reader(io.StringIO(text))))
    raise FileRefused(_("Send a .csv or .xlsx file."))


def _xlsx_table(content: bytes) -> list[list[Any]]:
    from openpyxl import load_workbook

    try:
        # An XLSX is a zip: its parts are measured unpacked before anything reads them.
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(part.file_size for part in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise FileRefused(_("The XLSX file cannot be read.")) from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise FileRefused(_("The XLSX file is larger than 100 MB unpacked; split it."))
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise FileRefused(_("The XLSX file cannot be read.")) from None
    try:
        sheet = workbook.worksheets[0]
        table: list[list[Any]] = []
        for row in sheet.iter_rows(values_only=True):
            table.append(list(row))
            if len(table) > MAX_ROWS + 1:
                raise FileRefused(_("The file has more than %(n)d rows; split it.") % {"n": MAX_ROWS})
        return table
    finally:
        workbook.close()
