"""The refusals a request can meet that every room raises the same way; each has its page
(`myspacecore.core.refusals`), so no view maps them itself."""

from __future__ import annotations


class RateLimited(Exception):
    """Over a rate limit: answered 429 with Retry-After.

    `group` names the limit (its key in the rate table), `reason` says in the user's words why
    the request was refused (the 429 page shows it; a generic reason without one).
    """

    def __init__(self, retry_after: int, *, group: str = "", reason: str = "") -> None:
        super().__init__(f"rate limited ({group or 'limit'}), retry after {retry_after} s")
        self.retry_after = retry_after
        self.group = group
        self.reason = reason


class ServiceUnavailable(Exception):
    """A service the request needs (the limits' store, the task broker) could not be reached.

    Raised before anything was changed, or after what was started was undone: answered 503
    with Retry-After.
    """
