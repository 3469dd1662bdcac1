"""Lazy results: nothing is requested until they are iterated (or counted, or turned into a frame);
then page after page, following each page's `next` link (page numbers on lists of areas, a keyset
cursor on observations) until there is none. Every pass starts again from the first page (which is
kept once fetched), so a result can be iterated more than once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from typing import IO, TYPE_CHECKING, Any, Generic, TypeVar

import httpx

from . import frames
from .errors import ConnectionFailed
from .models import Record

if TYPE_CHECKING:
    from ._session import AsyncSession, SyncSession

T = TypeVar("T", bound=Record)
PAGING_KEYS = frozenset({"next", "previous"})
CSV_DROPPED = frozenset({"page", "page_size", "cursor"})  # a CSV is one file, never paged


class _Spec(Generic[T]):
    """What to ask for and how to read it: the path and parameters, the row class, and where the
    rows are in the document (`key`; None when the document is the list itself)."""

    def __init__(self, path: str, params: Mapping[str, Any] | None, model: type[T], key: str | None) -> None:
        self.path, self.params, self.model, self.key = path, dict(params or {}), model, key

    def rows(self, body: Any) -> list[T]:
        items = body if self.key is None or isinstance(body, list) else body.get(self.key) or []
        return [self.model.from_api(item) for item in items]

    @staticmethod
    def next_link(body: Any) -> str | None:
        return body.get("next") if isinstance(body, dict) else None

    def meta(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            return {}
        return {k: v for k, v in body.items() if k != self.key and k not in PAGING_KEYS}

    def csv_params(self) -> dict[str, Any]:
        return {**{k: v for k, v in self.params.items() if k not in CSV_DROPPED}, "format": "csv"}


class Results(Generic[T]):
    """Rows of type T from one API call, fetched lazily page by page.

    - iterate it (`for row in results`), or `to_list()`;
    - `count`: the total the API reports (lists of areas), None where it reports none (observations);
    - `meta`: the rest of the first page's document (say, an aggregation's method and weight);
    - `to_pandas()`, `to_arrow()`: every row as a DataFrame or Table (the optional extras);
    - `write_csv(file)`: the same call as the API's own CSV, streamed into a binary file."""

    def __init__(self, session: SyncSession, spec: _Spec[T]) -> None:
        self._session, self._spec = session, spec
        self._first: Any = None

    def _first_page(self) -> Any:
        if self._first is None:
            self._first = self._session.get_json(self._spec.path, self._spec.params)
        return self._first

    def pages(self) -> Iterator[list[T]]:
        body = self._first_page()
        while True:
            yield self._spec.rows(body)
            link = self._spec.next_link(body)
            if not link:
                return
            body = self._session.get_json(link)

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            yield from page

    def to_list(self) -> list[T]:
        return list(self)

    @property
    def count(self) -> int | None:
        body = self._first_page()
        return body.get("count") if isinstance(body, dict) else len(body)

    @property
    def meta(self) -> dict[str, Any]:
        return self._spec.meta(self._first_page())

    def to_pandas(self):
        """A pandas DataFrame (needs `levelup-client[pandas]`)."""
        frames.require("pandas", "pandas")
        return frames.to_pandas(self, self._spec.model)

    def to_arrow(self):
        """A pyarrow Table (needs `levelup-client[arrow]`)."""
        frames.require("pyarrow", "arrow")
        return frames.to_arrow(self, self._spec.model)

    def write_csv(self, file: IO[bytes]) -> int:
        """The API's CSV of the same call (one file, not paged), streamed into `file`; returns the
        number of bytes written. Only where the API serves CSV (else BadRequest on `format`)."""
        response = self._session.send("GET", self._spec.path, params=self._spec.csv_params(), stream=True)
        written = 0
        try:
            for chunk in response.iter_bytes():
                file.write(chunk)
                written += len(chunk)
        except httpx.TransportError as exc:  # not retried: part of the file is written already
            raise ConnectionFailed(
                f"the CSV from {self._spec.path} broke off after {written:,} bytes: {exc!r}"
            ) from exc
        finally:
            response.close()
        return written

    def __repr__(self) -> str:
        return f"<Results of {self._spec.model.__name__} from {self._spec.path} {self._spec.params}>"


class AsyncResults(Generic[T]):
    """Results for the AsyncClient: `async for row in results`, `await results.to_list()`,
    `await results.count()`, `await results.meta()`, `await results.to_pandas()` ..."""

    def __init__(self, session: AsyncSession, spec: _Spec[T]) -> None:
        self._session, self._spec = session, spec
        self._first: Any = None

    async def _first_page(self) -> Any:
        if self._first is None:
            self._first = await self._session.get_json(self._spec.path, self._spec.params)
        return self._first

    async def pages(self) -> AsyncIterator[list[T]]:
        body = await self._first_page()
        while True:
            yield self._spec.rows(body)
            link = self._spec.next_link(body)
            if not link:
                return
            body = await self._session.get_json(link)

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.pages():
            for row in page:
                yield row

    async def to_list(self) -> list[T]:
        return [row async for row in self]

    async def count(self) -> int | None:
        body = await self._first_page()
        return body.get("count") if isinstance(body, dict) else len(body)

    async def meta(self) -> dict[str, Any]:
        return self._spec.meta(await self._first_page())

    async def to_pandas(self):
        frames.require("pandas", "pandas")
        return frames.to_pandas(await self.to_list(), self._spec.model)

    async def to_arrow(self):
        frames.require("pyarrow", "arrow")
        return frames.to_arrow(await self.to_list(), self._spec.model)

    async def write_csv(self, file: IO[bytes]) -> int:
        response = await self._session.send("GET", self._spec.path, params=self._spec.csv_params(), stream=True)
        written = 0
        try:
            async for chunk in response.aiter_bytes():
                file.write(chunk)
                written += len(chunk)
        except httpx.TransportError as exc:
            raise ConnectionFailed(
                f"the CSV from {self._spec.path} broke off after {written:,} bytes: {exc!r}"
            ) from exc
        finally:
            await response.aclose()
        return written

    def __repr__(self) -> str:
        return f"<AsyncResults of {self._spec.model.__name__} from {self._spec.path} {self._spec.params}>"
