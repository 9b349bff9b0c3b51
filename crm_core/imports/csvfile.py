"""Reading a retailer's CSV: UTF-8 (with or without BOM), ',' ';' or tab, a header row."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from crm_core.text import describe, forbidden_character


class MissingColumns(ValueError):
    def __init__(self, missing: list[str]) -> None:
        super().__init__(", ".join(missing))
        self.missing = missing


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

    def __init__(self, path: Path, on_progress: Callable[[int], None] | None = None) -> None:
        self.path = path
        self.size = path.stat().st_size
        self.on_progress = on_progress
        self.read = 0  # characters read so far: close enough to bytes for a progress bar

    def _counted(self, handle: IO[str]) -> Iterator[str]:
        for line in handle:
            self.read += len(line)
            yield line

    def rows(self, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
        with self.path.open(newline="", encoding="utf-8-sig") as handle:
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
