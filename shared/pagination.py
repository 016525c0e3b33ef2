"""The one page style of new list endpoints: ``?page=1&per_page=50`` -> ``{items, total, page, per_page}``.

docs/ARCHITECTURE.md, "Pagination". Existing endpoints keep their shapes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

MAX_PAGE = 100_000  # beyond it an OFFSET scan costs more than anyone reads
MAX_PER_PAGE = 500


@dataclass(frozen=True)
class Page:
    items: list[Any]
    total: int
    page: int
    per_page: int

    def as_dict(self, item: Callable[[Any], Any] = lambda row: row) -> dict[str, Any]:
        """The response body, each row shown by ``item``."""
        return {"items": [item(row) for row in self.items], "total": self.total, "page": self.page,
                "per_page": self.per_page}


def paginate(session: Session, query: Select, page: int, per_page: int) -> Page:
    """Run one page (1-based) of an ordered ``query`` and count all its rows; out-of-range numbers are clamped."""
    page = min(max(page, 1), MAX_PAGE)
    per_page = min(max(per_page, 1), MAX_PER_PAGE)
    total = count_rows(session, query)
    return Page(list(session.scalars(page_of(query, page, per_page))), total, page, per_page)


def page_of(query: Select, page: int, per_page: int) -> Select:
    """``query`` limited to its ``page`` (1-based) of ``per_page`` rows."""
    return query.limit(per_page).offset((page - 1) * per_page)


def count_rows(session: Session, query: Select) -> int:
    """How many rows ``query`` returns in all."""
    return session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
