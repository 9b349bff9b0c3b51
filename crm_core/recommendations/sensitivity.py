"""Which products a customer may be offered, by the retailer's sensitive-category marks.

Marks nest: "Health" may allow offers to customers who buy there themselves while
"Health/Pregnancy" never allows any. The mark on the most specific category holding a product
decides, whatever order the marks were made in; a customer's own history counts only inside
that category, so buying vitamins never opens the pregnancy shelf.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from crm_core.catalogue.service import PATH_SEPARATOR, in_category


@dataclass(frozen=True)
class SensitiveMark:
    path: str
    allow_own_history: bool


class SensitivityRules:
    """The retailer's marks, ordered so the deepest category that holds a path is found first."""

    def __init__(self, marks: Iterable[SensitiveMark]) -> None:
        # Deeper paths first: a subcategory's mark overrides its parent's.
        self._marks = sorted(marks, key=lambda mark: (-mark.path.count(PATH_SEPARATOR), mark.path))

    def mark_for(self, path: str | None) -> SensitiveMark | None:
        """The most specific mark over the category `path`, or None when it is not sensitive."""
        for mark in self._marks:
            if in_category(path, mark.path):
                return mark
        return None

    def allows(self, path: str | None, bought_paths: Iterable[str]) -> bool:
        """May a product in `path` be offered to a customer who bought in `bought_paths`?"""
        mark = self.mark_for(path)
        if mark is None:
            return True
        if not mark.allow_own_history:
            return False
        return any(in_category(bought, mark.path) for bought in bought_paths)
