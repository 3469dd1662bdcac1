"""The exceptions the client raises: one per kind of failure, carrying what the API said (its JSON
error body has `status`, `error`, `message` and, for a bad parameter, `parameter` and `errors`)."""

from __future__ import annotations

from typing import Any


class LevelUpError(Exception):
    """Base class of everything this package raises."""


class ApiError(LevelUpError):
    """The API answered with an error status. `parameter` names the bad parameter of a 400."""

    def __init__(self, status: int, message: str, *, url: str = "", body: Any = None) -> None:
        self.status = status
        self.message = message
        self.url = url
        self.body = body if body is not None else {}
        data = self.body if isinstance(self.body, dict) else {}
        self.error: str | None = data.get("error")
        self.parameter: str | None = data.get("parameter")
        self.errors: list[dict] = data.get("errors") or []
        where = f" (parameter {self.parameter!r})" if self.parameter else ""
        super().__init__(f"{status} {message}{where} [{url}]" if url else f"{status} {message}{where}")


class BadRequest(ApiError):
    """400: a parameter is wrong; `parameter` and `errors` say which and why."""


class AuthenticationFailed(ApiError):
    """401 or 403: an unknown or inactive API key, or not allowed."""


class NotFound(ApiError):
    """404: no such area, indicator, dataset or route."""


class RateLimited(ApiError):
    """429 after the retries ran out, or a `Retry-After` longer than the client will wait."""

    def __init__(
        self, status: int, message: str, *, url: str = "", body: Any = None, retry_after: float | None = None
    ) -> None:
        super().__init__(status, message, url=url, body=body)
        self.retry_after = retry_after


class ServerError(ApiError):
    """5xx after the retries ran out."""


class ConnectionFailed(LevelUpError):
    """The server could not be reached (or the connection dropped) after the retries ran out."""


class IntegrityError(LevelUpError):
    """A downloaded file does not match the size, SHA-256 or row count the API published for it."""


class MissingExtra(ImportError, LevelUpError):
    """An optional dependency (pandas, pyarrow) is needed and not installed."""

    def __init__(self, module: str, extra: str) -> None:
        super().__init__(f"{module} is needed for this; install it with: pip install 'levelup-client[{extra}]'")
        self.module, self.extra = module, extra


def error_for(
    status: int, message: str, *, url: str = "", body: Any = None, retry_after: float | None = None
) -> ApiError:
    """The exception class that fits an HTTP error status."""
    if status == 429:
        return RateLimited(status, message, url=url, body=body, retry_after=retry_after)
    cls = {400: BadRequest, 401: AuthenticationFailed, 403: AuthenticationFailed, 404: NotFound}.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else ApiError
    return cls(status, message, url=url, body=body)
