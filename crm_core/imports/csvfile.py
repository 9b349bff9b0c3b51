"""Reading a retailer's CSV: ',' ';' or tab, a header row, in the encoding it was saved in.

Excel saves "CSV" in the system's code page (Windows-1251 in Ukraine), "CSV UTF-8" with a
byte-order mark and "Unicode text" as UTF-16, so the encoding is found before any row is
read: a byte-order mark says it; NUL bytes in every other place mean UTF-16 without one;
otherwise a file that is valid UTF-8 throughout is UTF-8, and one that is not is read as
Windows-1251. A caller may name the encoding instead. Either way the whole file is checked
first, so an import never stops half-way on a byte it cannot read.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from crm_core.text import describe, forbidden_character

CHUNK = 1 << 20
FALLBACK = "cp1251"


class MissingColumns(ValueError):
    def __init__(self, missing: list[str]) -> None:
        super().__init__(", ".join(missing))
        self.missing = missing


class UnknownEncoding(ValueError):
    """The caller named an encoding Python does not know."""

    def __init__(self, encoding: str) -> None:
        super().__init__(f"there is no text encoding called {encoding}")
        self.encoding = encoding


class UnreadableText(ValueError):
    """The file is not text in the named encoding (`encoding`, with the first bad `line`),
    or, when none was named, in any encoding we detect (`encoding` is None)."""

    def __init__(self, encoding: str | None, line: int = 0) -> None:
        if encoding is None:
            message = "the file is not text in UTF-8, UTF-16 or Windows-1251"
        else:
            message = f"the file is not valid {encoding} text (line {line})"
        super().__init__(message)
        self.encoding = encoding
        self.line = line


def _decodes(path: Path, encoding: str) -> int | None:
    """None when the whole file decodes; else the line of the first byte that does not."""
    decoder = codecs.getincrementaldecoder(encoding)()
    lines = 1
    with path.open("rb") as handle:
        while True:
            chunk = handle.read(CHUNK)
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as error:
                return lines + chunk[: error.start].count(b"\n")  # near enough for UTF-16
            lines += text.count("\n")
            if not chunk:
                return None


def _sniffed(head: bytes) -> str | None:
    """The encoding the first bytes announce: a byte-order mark, or UTF-16's NUL bytes."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    even, odd = head[0:200:2], head[1:200:2]
    if len(odd) >= 2 and odd.count(0) > len(odd) // 2 and even.count(0) == 0:
        return "utf-16-le"
    if len(even) >= 2 and even.count(0) > len(even) // 2 and odd.count(0) == 0:
        return "utf-16-be"
    return None


def encoding_of(path: Path, named: str | None = None) -> str:
    """The encoding to read `path` in: `named` if given (it must fit the whole file),
    otherwise detected (see the module's docstring)."""
    if named:
        try:
            encoding = codecs.lookup(named).name
        except LookupError:
            raise UnknownEncoding(named) from None
        if encoding == "utf-8":
            encoding = "utf-8-sig"  # a byte-order mark is no part of the header's first name
        line = _decodes(path, encoding)
        if line is not None:
            raise UnreadableText(named, line)
        return encoding
    with path.open("rb") as handle:
        head = handle.read(4096)
    sniffed = _sniffed(head)
    if sniffed is not None:
        if _decodes(path, sniffed) is not None:
            raise UnreadableText(None)
        return sniffed
    for candidate in ("utf-8", FALLBACK):
        if _decodes(path, candidate) is None:
            return candidate
    raise UnreadableText(None)


def forbidden_cell(values: dict[str, str]) -> tuple[str, str] | None:
    """The column and reason of the first cell holding a control character, if any: such a
    row is refused (the same rule as the API and the bot)."""
    for column, value in values.items():
        bad = forbidden_character(value) or forbidden_character(column)
        if bad is not None:
            return column, f"contains an invisible control character ({describe(bad)})"
    return None


class CsvFile:
    """Rows as (line number, {lowercase column: stripped value}), read as a stream."""

    def __init__(
        self,
        path: Path,
        on_progress: Callable[[int], None] | None = None,
        encoding: str | None = None,
    ) -> None:
        self.path = path
        self.size = path.stat().st_size
        self.on_progress = on_progress
        self.read = 0  # characters read so far: close enough to bytes for a progress bar
        self.encoding = encoding_of(path, encoding)  # UnknownEncoding, UnreadableText

    def _counted(self, handle: IO[str]) -> Iterator[str]:
        for line in handle:
            self.read += len(line)
            yield line

    def rows(self, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
        with self.path.open(newline="", encoding=self.encoding) as handle:
            sample = handle.read(8192)
            handle.seek(0)
            try:
                dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
                    sample, delimiters=",;\t"
                )
            except csv.Error:
                dialect = csv.excel
            reader = csv.reader(self._counted(handle), dialect)
            header = [name.strip().lower() for name in next(reader, [])]
            missing = [column for column in required if column not in header]
            if missing:
                raise MissingColumns(missing)
            width = len(header)
            count = 0
            for values in reader:
                count += 1
                if self.on_progress is not None and count % 10_000 == 0:
                    self.on_progress(self.read)
                if not values or (len(values) == 1 and not values[0].strip()):
                    continue
                if len(values) < width:
                    values = values + [""] * (width - len(values))
                yield reader.line_num, {name: values[i].strip() for i, name in enumerate(header)}
            if self.on_progress is not None:
                self.on_progress(self.size)
