"""One page of a listing: the arithmetic every paged command shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


def page_count(total: int, size: int) -> int:
    """How many pages `total` items fill at `size` items a page; at least 1 (an empty listing
    is one empty page). Raises `ValueError` for a `size` below 1."""
    if size < 1:
        raise ValueError(f"a page holds at least one item, not {size}")
    return max(1, -(-total // size))


def page_offset(page: int, size: int) -> int:
    """How many items come before the 1-based `page` at `size` items a page."""
    return (max(page, 1) - 1) * size


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing: `items` in the listing's order, the 1-based `page` of `pages`,
    and the `total` number of items on all pages."""

    items: tuple[T, ...]
    page: int
    pages: int
    total: int
