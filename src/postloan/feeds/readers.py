"""Read a feed file (CSV, Parquet, xlsx) into an all-text frame with source line numbers.

Every column comes back as ``Utf8`` so that validation sees exactly what the
core system wrote (no guessing of types), plus ``_line``: the 1-based line a
person finds the row on in an editor (CSV, counting the header as line 1) or
the spreadsheet row number (xlsx). Parquet has no lines; ``_line`` is the
1-based row number.
"""

from __future__ import annotations

import io
import re
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

import polars as pl

from postloan.domain.errors import FeedError
from postloan.feeds.spec import FEEDS

LINE = "_line"

#: Chinese text in a legacy encoding is almost all GB2312 characters; a
#: "successful" GB18030 decode made mostly of rare characters is another encoding.
_MIN_COMMON_HANZI_SHARE = 0.5


def read_table(path: Path) -> pl.DataFrame:
    """The rows of ``path`` as text columns plus ``_line``; raises ``FeedError`` when
    the file cannot be read at all."""
    if not path.is_file():
        raise FeedError(f"{path}: no such file")
    suffix = path.suffix.lower()
    readers = {".csv": _read_csv, ".parquet": _read_parquet, ".xlsx": _read_xlsx}
    if suffix not in readers:
        raise FeedError(f"{path}: unsupported file type {suffix!r}; use .csv, .parquet or .xlsx")
    try:
        frame = readers[suffix](path)
    except pl.exceptions.PolarsError as err:  # e.g. a Parquet column that is not text-like
        first = (str(err).splitlines() or [type(err).__name__])[0]
        raise FeedError(f"{path}: cannot be read as a table ({first})") from None
    return _normalise_header(frame, path)


def _reserve(names: list[str], path: Path) -> None:
    if any(n.replace("\ufeff", "").strip().lower() == LINE for n in names):
        raise FeedError(f"{path}: a column may not be called {LINE!r} (reserved); rename it")


def _normalise_header(frame: pl.DataFrame, path: Path) -> pl.DataFrame:
    names = [c for c in frame.columns if c != LINE]
    clean = [n.replace("\ufeff", "").strip().lower() for n in names]
    dupes = sorted({c for c in clean if clean.count(c) > 1})
    if dupes or any("_duplicated_" in n for n in names):
        shown = ", ".join(dupes) or ", ".join(n for n in names if "_duplicated_" in n)
        raise FeedError(f"{path}: column(s) appear more than once in the header: {shown}")
    if "" in clean:
        pos = clean.index("") + 1
        raise FeedError(f"{path}: header column {pos} has no name; name it or delete the column")
    frame = frame.rename(dict(zip(names, clean, strict=True)))
    return frame.select([*clean, LINE])


# --- CSV ----------------------------------------------------------------------------


def decode_feed_bytes(data: bytes, path: Path) -> tuple[bytes, str]:
    """``data`` as UTF-8 bytes without BOM, and the encoding it was in.

    Decoding is strict: UTF-8 (with or without BOM) first, then GB18030 (a
    superset of GBK). Anything else is refused with a message saying so.
    """
    if b"\x00" in data[:65536]:
        raise FeedError(
            f"{path}: contains NUL bytes, so it is not a text CSV (UTF-16 or binary?); "
            "export it as UTF-8 or GBK CSV"
        )
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        if data.startswith(b"\xef\xbb\xbf"):
            return data[3:], "utf-8-sig"
        return data, "utf-8"
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise FeedError(
            f"{path}: cannot be decoded as UTF-8, GBK or GB18030 (bad byte 0x{data[err.start]:02x} "
            f"at line {line}){_guess(data)}; save it as UTF-8 and import again"
        ) from None
    if not _looks_chinese(text):
        raise FeedError(
            f"{path}: is not UTF-8 and does not read as Chinese GBK/GB18030 text"
            f"{_guess(data)}; save it as UTF-8 and import again"
        )
    return text.encode("utf-8"), "gb18030"


def _looks_chinese(text: str) -> bool:
    wide = [ch for ch in set(text) if ord(ch) > 0x7F]
    if not wide:
        return True
    common = 0
    for ch in wide:
        try:
            ch.encode("gb2312")
        except UnicodeEncodeError:
            continue
        common += 1
    return common / len(wide) >= _MIN_COMMON_HANZI_SHARE


def _guess(data: bytes) -> str:
    from charset_normalizer import from_bytes

    best = from_bytes(data[:200_000]).best()
    if best is None or best.encoding in ("utf_8", "gb18030", "gbk", "gb2312"):
        return ""
    return f"; it looks like {best.encoding}"


def _read_csv(path: Path) -> pl.DataFrame:
    utf8, _encoding = decode_feed_bytes(path.read_bytes(), path)
    if not utf8.strip():
        raise FeedError(f"{path}: the file is empty; it needs at least a header line")
    try:
        frame = pl.read_csv(
            io.BytesIO(utf8),
            infer_schema=False,
            raise_if_empty=True,
        )
    except pl.exceptions.PolarsError as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise FeedError(
            f"{path}: not a well-formed CSV ({first}); check quoting and that every line "
            "has as many fields as the header"
        ) from None
    names = frame.columns
    _reserve(names, path)
    # A quoted field may span lines: count them so _line matches what an editor shows.
    if b'"' in utf8 and names:
        spans = pl.sum_horizontal(
            [pl.col(c).str.count_matches("\n").fill_null(0) for c in names]
        ).cast(pl.Int64)
        frame = frame.with_columns(
            (pl.int_range(pl.len(), dtype=pl.Int64) + 2 + spans.cum_sum() - spans).alias(LINE)
        )
    else:
        frame = frame.with_columns((pl.int_range(pl.len(), dtype=pl.Int64) + 2).alias(LINE))
    # Blank lines read as all-null rows: drop them (line numbers are already fixed).
    if names:
        frame = frame.filter(~pl.all_horizontal([pl.col(c).is_null() for c in names]))
    return frame


# --- Parquet ------------------------------------------------------------------------


def _read_parquet(path: Path) -> pl.DataFrame:
    try:
        frame = pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError) as err:
        raise FeedError(f"{path}: not a readable Parquet file ({err})") from None
    _reserve(frame.columns, path)
    casts = []
    for name, dtype in frame.schema.items():
        if dtype == pl.Datetime or isinstance(dtype, pl.Datetime):
            text = pl.col(name).dt.strftime("%Y-%m-%d %H:%M:%S")
            casts.append(text.str.replace(" 00:00:00$", ""))
        elif dtype.is_float():
            # Shortest round-trip text ("0.1", not the binary expansion); "1000.0" -> "1000".
            casts.append(pl.col(name).cast(pl.Utf8).str.replace(r"\.0$", ""))
        else:
            casts.append(pl.col(name).cast(pl.Utf8))
    frame = frame.with_columns(casts) if casts else frame
    return frame.with_columns((pl.int_range(pl.len(), dtype=pl.Int64) + 1).alias(LINE))


def _float_text(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


# --- xlsx ---------------------------------------------------------------------------

_HEADER_SCAN_ROWS = 10


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, Decimal):
        return str(value)
    text = str(value)
    return text if text.strip() else None


def _read_xlsx(path: Path) -> pl.DataFrame:
    import zipfile

    from openpyxl import load_workbook  # type: ignore[import-untyped]

    try:
        merged = _merged_ranges(path)
        # Read-only mode streams the sheet: memory stays flat for large workbooks.
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as err:
        raise FeedError(f"{path}: not a readable .xlsx workbook ({err})") from None
    try:
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # some writers record wrong dimensions
        rows = [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()
    if not rows:
        raise FeedError(f"{path}: the first sheet is empty; it needs a header row")
    width = max(len(r) for r in rows)
    rows = [r + [None] * (width - len(r)) for r in rows]
    # Unmerge the top rows: every cell of a merged range takes the range's value.
    top = [list(r) for r in rows[:_HEADER_SCAN_ROWS]]
    for _coord, (min_col, min_row, max_col, max_row) in merged:
        if min_row > len(top) or min_col > width:
            continue
        value = top[min_row - 1][min_col - 1]
        for r in range(min_row, min(max_row, len(top)) + 1):
            for c in range(min_col, min(max_col, width) + 1):
                top[r - 1][c - 1] = value
    header_index = _find_header(top, path)
    header_row = header_index + 1
    for coord, (min_col, min_row, max_col, max_row) in merged:
        if min_row <= header_row <= max_row and max_col > min_col:
            raise FeedError(
                f"{path}: header cell {coord} is merged across several columns, so the "
                "columns under it have no name of their own; unmerge it and give each "
                "column its contract name"
            )
    header = [(h or "").strip() for h in top[header_index]]
    _reserve(header, path)
    while header and not header[-1]:
        header.pop()
    data = rows[header_index + 1 :]
    columns = {
        name: [r[i] for r in data] for i, name in enumerate(header) if name or _has_data(data, i)
    }
    if "" in columns:
        pos = header.index("") + 1
        raise FeedError(f"{path}: header column {pos} has no name but holds data; name it")
    frame = pl.DataFrame(columns, schema=dict.fromkeys(columns, pl.Utf8))
    frame = frame.with_columns(
        (pl.int_range(pl.len(), dtype=pl.Int64) + header_row + 1).alias(LINE)
    )
    names = list(columns)
    if names:
        frame = frame.filter(~pl.all_horizontal([pl.col(c).is_null() for c in names]))
    return frame


def _merged_ranges(path: Path) -> list[tuple[str, tuple[int, int, int, int]]]:
    """Merged ranges of the first sheet as (``A1:D1``, (min_col, min_row, max_col, max_row)),
    read from the sheet XML (read-only worksheets do not expose them)."""
    import posixpath
    import zipfile
    from xml.etree import ElementTree

    from openpyxl.utils.cell import range_boundaries  # type: ignore[import-untyped]

    main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    rel = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
    with zipfile.ZipFile(path) as archive:
        book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        first = book.find(f"{main}sheets/{main}sheet")
        if first is None:
            return []
        rid = first.get(f"{rel}id")
        rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
        target = next((r.get("Target", "") for r in rels if r.get("Id") == rid), "")
        name = target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
        found: list[str] = []
        tail = ""
        with archive.open(posixpath.normpath(name)) as sheet:
            for block in iter(lambda: sheet.read(1 << 20), b""):
                text = tail + block.decode("utf-8", errors="replace")
                found.extend(_MERGE_REF.findall(text))
                tail = text[-200:]
    refs = list(dict.fromkeys(found))  # a ref split across blocks is found twice
    return [(ref, tuple(range_boundaries(ref))) for ref in refs]


_MERGE_REF = re.compile(r'<(?:\w+:)?mergeCell\s+ref="([A-Z]+[0-9]+(?::[A-Z]+[0-9]+)?)"')


def _has_data(rows: list[list[str | None]], index: int) -> bool:
    return any(r[index] is not None for r in rows)


def _find_header(top: list[list[str | None]], path: Path) -> int:
    """The header row: the one naming the most contract columns of the feed the file
    is named after, else the first row with at least two distinct names."""
    spec = FEEDS.get(path.stem.lower())
    if spec is not None:
        known = set(spec.columns)
        scores = [sum(1 for v in set(r) if v and v.strip().lower() in known) for r in top]
        best = max(scores)
        if best > 0:
            return scores.index(best)
    for i, row in enumerate(top):
        if len({v for v in row if v}) >= 2:
            return i
    raise FeedError(f"{path}: no header row found in the first {_HEADER_SCAN_ROWS} rows")
