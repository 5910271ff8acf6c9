"""The residents' code flows, one module per flow (django-allauth's `account/internal/flows/` shape).

Each flow is built on `pending.PendingVerification` (a value waiting for its code, kept in the
session) over the one code engine, `accounts.services.verification`. Views bind a form, call
a flow and respond; flows call services. A domain refusal comes back as a `ValidationError`
carrying the words of `messages`; a rate limit or an outage propagates to
`myspacecore.core.refusals.RefusalPagesMiddleware`.
"""
