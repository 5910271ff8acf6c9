"""The refusals a request can meet that every room raises the same way; each has its page
(`myspacecore.core.refusals`), so no view maps them itself."""

from __future__ import annotations


class RateLimited(Exception):
    """Over a rate limit: answered 429 with Retry-After."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"rate limited, retry after {retry_after} s")
        self.retry_after = retry_after


class ServiceUnavailable(Exception):
    """A service the request needs (the limits' store, the task broker) could not be reached.

    Raised before anything was changed, or after what was started was undone: answered 503
    with Retry-After.
    """
