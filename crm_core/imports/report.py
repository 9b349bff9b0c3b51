"""What an import did: counts, and every rejected row with its column and reason."""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_LISTED = 10_000


@dataclass(frozen=True)
class Rejection:
    row: int  # the line number in the file (the header is line 1)
    column: str
    reason: str


@dataclass
class ImportReport:
    kind: str
    rows: int = 0
    imported: int = 0  # records written: products, customers, receipts
    lines: int = 0  # receipt lines written (purchases only)
    unchanged: int = 0  # already there from an earlier import: nothing written
    rejected_rows: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    products_ranked: int | None = None  # purchases: recommendations rebuilt after the import

    def reject(self, row: int, column: str, reason: str) -> None:
        self.rejected_rows += 1
        if len(self.rejections) < MAX_LISTED:
            self.rejections.append(Rejection(row, column, reason))

    def absorb(self, other: ImportReport) -> None:
        """Add what another part of the same import read and refused."""
        self.rows += other.rows
        self.imported += other.imported
        self.lines += other.lines
        self.unchanged += other.unchanged
        for rejection in other.rejections:
            self.reject(rejection.row, rejection.column, rejection.reason)
        self.rejected_rows += other.rejected_rows - len(other.rejections)  # beyond the list

    def as_dict(self) -> dict:
        ranked = {} if self.products_ranked is None else {"products_ranked": self.products_ranked}
        return {
            "kind": self.kind,
            "rows": self.rows,
            "imported": self.imported,
            "lines": self.lines,
            "unchanged": self.unchanged,
            "rejected_rows": self.rejected_rows,
            "rejections": [r.__dict__ for r in self.rejections],
            "rejections_listed": len(self.rejections),
            **ranked,
        }
