"""Verification codes: issue, deliver (on commit, through Celery) and verify. One engine for every flow.

The rules (SPEC "Verification codes"): 6 digits from a CSPRNG, valid CODE_LIFETIME, single
use, stored only as an HMAC bound to purpose and target. One try: a wrong or expired code
burns the code and makes the target wait, as long as FAILURE_WAITS says for its count of
consecutive failures (30 s for the first five, growing slowly after). Failures are counted
per target across codes, in the database (never the cache: a Redis restart must not reset
them); at MAX_CONSECUTIVE_FAILURES the target is locked until staff unlock it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import re
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache, partial

from cryptography.fernet import Fernet, MultiFernet
from django.db import connection, models, transaction
from django.utils import timezone

from accounts.app_settings import app_settings
from accounts.models import User, VerificationCode, VerificationTarget
from myspacecore.core.exceptions import ServiceUnavailable
from myspacecore.core.masking import mask_email, mask_phone
from myspacecore.core.typed_text import typed_compact
from myspacecore.tenancy.models import AuditLogEntry
from myspacecore.tenancy.services.audit import audit_log_record
from myspacecore.tenancy.sql import model_by, model_from_row, models_from_row

logger = logging.getLogger(__name__)

CODE_DIGITS = 6
_CODE_RE = re.compile(r"[0-9]{6}")
# Longer input than this is not a code, whatever it normalises to.
_MAX_RAW_LENGTH = 64


class VerificationError(Exception):
    """Base of the errors a flow turns into a message for the user."""


class VerificationWait(VerificationError):
    """No new code for this target until `until` (`retry_after` seconds from now).

    `failures`: the consecutive failures that caused the wait; 0 when it is the resend wait
    (a code was sent moments ago).
    """

    def __init__(self, retry_after: int, *, until: datetime, failures: int = 0) -> None:
        super().__init__(f"wait {retry_after} s")
        self.retry_after = retry_after
        self.until = until
        self.failures = failures


class VerificationLocked(VerificationError):
    """Too many consecutive failures for this target (`failures`): staff must unlock it."""

    def __init__(self, target: str, *, failures: int = 0) -> None:
        super().__init__(target)
        self.failures = failures


class VerificationFailed(VerificationError):
    """The code did not verify: `reason` is "wrong", "expired" or "used".

    `wait` says until when no new code may be sent and why (None: no wait).
    """

    def __init__(self, reason: str, wait: VerificationWait | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wait = wait

    @property
    def retry_after(self) -> int:
        """Seconds until a new code may be sent (0: now)."""
        return self.wait.retry_after if self.wait is not None else 0


class DeliveryUnavailable(VerificationError, ServiceUnavailable):
    """The task broker could not be reached when the code was issued; the code was cancelled."""


def normalize_code(raw) -> str | None:
    """The 6 ASCII digits the user meant, or None for anything that cannot be a code.

    NFKC turns full-width digits into ASCII; spaces and hyphens are dropped. Other
    scripts' digits, letters, 5 or 7 digits, non-strings: None (a wrong code), never an error.
    """
    if not isinstance(raw, str) or len(raw) > _MAX_RAW_LENGTH:
        return None
    text = typed_compact(raw)
    return text if _CODE_RE.fullmatch(text) else None


def mask_target(target: str) -> str:
    """A target fit for a log line."""
    return mask_email(target) if "@" in target else mask_phone(target)


def _code_hash(*, purpose: str, target: str, code: str) -> str:
    # Purpose and target are inside the MAC: a code only ever verifies what it was issued for.
    message = f"{purpose}\x1f{target}\x1f{code}".encode()
    return hmac.new(app_settings.CODE_HMAC_KEY.encode(), message, hashlib.sha256).hexdigest()


def _delivery_fernet() -> MultiFernet:
    return _fernet_of(tuple(app_settings.DELIVERY_KEYS))


@cache
def _fernet_of(keys: tuple[str, ...]) -> MultiFernet:
    # Built once per set of keys: a worker unseals one code per task.
    return MultiFernet([Fernet(key) for key in keys])


def code_seal(code: str) -> str:
    """Encrypt a plain code for the task message, so neither the broker nor its logs hold it in clear."""
    return _delivery_fernet().encrypt(code.encode()).decode()


def code_unseal(sealed: str) -> str:
    """The plain code; raises cryptography.fernet.InvalidToken once older than the code lifetime."""
    ttl = int(app_settings.CODE_LIFETIME.total_seconds())
    return _delivery_fernet().decrypt(sealed.encode(), ttl=ttl).decode()


def _seconds_until(moment: datetime | None, now: datetime) -> int:
    if moment is None or moment <= now:
        return 0
    return math.ceil((moment - now).total_seconds())


def failure_wait(consecutive_failures: int) -> timedelta:
    """The wait after the n-th consecutive failure: the last row of FAILURE_WAITS that n has reached."""
    wait = timedelta(0)
    for from_failure, row_wait in app_settings.FAILURE_WAITS:
        if consecutive_failures < from_failure:
            break
        wait = row_wait
    return wait


def failures_possible_within(window: timedelta) -> int:
    """The most failures one target can collect within `window`, starting from none: an attacker
    who asks for each new code the moment the wait allows and fails it at once. Stops at
    MAX_CONSECUTIVE_FAILURES (the lock). The start-up check and the tests read it."""
    elapsed, failures = timedelta(0), 1
    while failures < app_settings.MAX_CONSECUTIVE_FAILURES:
        elapsed += max(failure_wait(failures), app_settings.RESEND_WAIT)
        if elapsed > window:
            break
        failures += 1
    return failures


def _quoted_columns(model: type[models.Model]) -> dict[str, str]:
    """Field name -> quoted column of `model`'s concrete fields, for the plain SQL below."""
    quote = connection.ops.quote_name
    return {field.name: quote(field.column) for field in model._meta.concrete_fields if field.column is not None}


@cache
def _target_upsert_sql() -> str:
    column = _quoted_columns(VerificationTarget)
    table, target, failures = (
        connection.ops.quote_name(VerificationTarget._meta.db_table),
        column["target"],
        column["consecutive_failures"],
    )
    returned = ", ".join(column.values())
    return (
        f"INSERT INTO {table} ({target}, {failures}) VALUES (%s, 0) "  # noqa: S608 - names from _meta
        f"ON CONFLICT ({target}) DO UPDATE SET {target} = EXCLUDED.{target} RETURNING {returned}"
    )


def _target_row_locked(target: str) -> VerificationTarget:
    """The target's row, created if needed, locked until the transaction ends.

    One `INSERT … ON CONFLICT (target) DO UPDATE … RETURNING` (PostgreSQL, SQLite >= 3.35):
    the conflicting row is locked by the no-op update and read in its latest committed
    version, so it stands for get_or_create then SELECT … FOR UPDATE (5 statements).
    """
    with connection.cursor() as cursor:
        cursor.execute(_target_upsert_sql(), [target])
        return model_from_row(VerificationTarget, cursor.fetchone())


def _is_locked(row: VerificationTarget) -> bool:
    return row.consecutive_failures >= app_settings.MAX_CONSECUTIVE_FAILURES


def _wait_for(row: VerificationTarget, now: datetime) -> VerificationWait | None:
    """The wait standing between the target and a new code, with its cause; None when there is none."""
    resend_at = row.last_issued_at + app_settings.RESEND_WAIT if row.last_issued_at else None
    failure_left, resend_left = _seconds_until(row.wait_until, now), _seconds_until(resend_at, now)
    if failure_left and failure_left >= resend_left and row.wait_until is not None:
        return VerificationWait(failure_left, until=row.wait_until, failures=row.consecutive_failures)
    if resend_left and resend_at is not None:
        return VerificationWait(resend_left, until=resend_at)
    return None


def target_wait_seconds(*, target: str) -> int:
    """Seconds until a new code may be issued for `target`; 0 when it may be issued now."""
    wait = target_wait(target=target)
    return wait.retry_after if wait else 0


def target_wait(*, target: str) -> VerificationWait | None:
    """Why and until when no new code may be issued for `target`; None when it may be issued now."""
    row = model_by(VerificationTarget, "target", target)
    return _wait_for(row, timezone.now()) if row else None


def verification_code_issue(
    *,
    purpose: str,
    target: str,
    channel: str,
    user: User | None = None,
    language: str = "ja",
    then: Callable[[VerificationCode], object] | None = None,
) -> VerificationCode:
    """Issue a new code for (purpose, target) and queue its delivery once the transaction commits.

    `then(code)` runs inside the same transaction once the code is stored (the flow's own
    write, such as the session that keeps the code pending: one commit).

    Earlier pending codes of the same (purpose, target) are superseded. Raises
    VerificationLocked, VerificationWait (failure wait or resend wait), and
    DeliveryUnavailable when the broker refuses the task (the code is then cancelled).
    Call it outside a transaction, as views do: inside one, the enqueue (and so
    DeliveryUnavailable) happens only when the outermost transaction commits.
    """
    with transaction.atomic():
        now = timezone.now()
        row = _target_row_locked(target)
        if _is_locked(row):
            raise VerificationLocked(target, failures=row.consecutive_failures)
        wait = _wait_for(row, now)
        if wait:
            raise wait
        plain = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        code = VerificationCode(
            purpose=purpose,
            channel=channel,
            target=target,
            code_hash=_code_hash(purpose=purpose, target=target, code=plain),
            user=user,
            language=language,
            created_at=now,
            expires_at=now + app_settings.CODE_LIFETIME,
        )
        previous_issued_at = row.last_issued_at
        _code_store(code, row=row, now=now)
        logger.info("verification code #%s issued (%s, %s) to %s", code.pk, purpose, channel, mask_target(target))
        if then is not None:
            then(code)
        transaction.on_commit(
            partial(_delivery_enqueue, code=code, sealed=code_seal(plain), previous_issued_at=previous_issued_at)
        )
    return code


def _code_store(code: VerificationCode, *, row: VerificationTarget, now: datetime) -> None:
    """Supersede the target's pending codes of this purpose, save `code`, and record the issue on `row`.

    On PostgreSQL one statement (two data-modifying CTEs and the INSERT, all on one snapshot,
    so the new code is not among those superseded); elsewhere the three statements.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_code_store_sql(), _code_store_params(code, row=row, now=now))
            code.pk = cursor.fetchone()[0]
        code._state.adding = False
        row.last_issued_at = now
        return
    VerificationCode.objects.filter(
        purpose=code.purpose, target=code.target, state=VerificationCode.State.PENDING
    ).update(state=VerificationCode.State.SUPERSEDED)
    code.save(force_insert=True)
    row.last_issued_at = now
    row.save(update_fields=["last_issued_at"])


def _code_columns() -> list[models.Field]:
    return [field for field in VerificationCode._meta.concrete_fields if not field.primary_key]


@cache
def _code_store_sql() -> str:
    quote = connection.ops.quote_name
    code_column, target_column = _quoted_columns(VerificationCode), _quoted_columns(VerificationTarget)
    code_table, target_table = quote(VerificationCode._meta.db_table), quote(VerificationTarget._meta.db_table)
    fields = _code_columns()
    return (
        f"WITH superseded AS (UPDATE {code_table} SET {code_column['state']} = %s "  # noqa: S608 - names from _meta
        f"WHERE {code_column['purpose']} = %s AND {code_column['target']} = %s AND {code_column['state']} = %s), "
        f"issued AS (UPDATE {target_table} SET {target_column['last_issued_at']} = %s "
        f"WHERE {target_column['id']} = %s) "
        f"INSERT INTO {code_table} ({', '.join(code_column[field.name] for field in fields)}) "
        f"VALUES ({', '.join('%s' for _ in fields)}) RETURNING {code_column['id']}"
    )


def _code_store_params(code: VerificationCode, *, row: VerificationTarget, now: datetime) -> list:
    State = VerificationCode.State
    values = [field.get_db_prep_save(field.pre_save(code, add=True), connection) for field in _code_columns()]
    stamp = connection.ops.adapt_datetimefield_value(now)
    return [State.SUPERSEDED.value, code.purpose, code.target, State.PENDING.value, stamp, row.pk, *values]


def _delivery_enqueue(*, code: VerificationCode, sealed: str, previous_issued_at: datetime | None) -> None:
    """Hand the sealed code to the delivery task; cancel the code when the broker is down."""
    from kombu.exceptions import OperationalError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    from accounts.tasks import verification_code_send

    try:
        verification_code_send.apply_async(args=(code.pk, sealed), argsrepr=f"({code.pk}, '<sealed>')")
    except (OperationalError, RedisConnectionError, RedisTimeoutError, ConnectionError) as exc:
        logger.error("verification code #%s cancelled: broker unavailable (%s)", code.pk, type(exc).__name__)
        VerificationCode.objects.filter(pk=code.pk, state=VerificationCode.State.PENDING).update(
            state=VerificationCode.State.CANCELLED
        )
        # Nothing was sent: the user may ask again as soon as the broker is back.
        VerificationTarget.objects.filter(target=code.target, last_issued_at=code.created_at).update(
            last_issued_at=previous_issued_at
        )
        raise DeliveryUnavailable from exc


# Delivery bookkeeping (accounts.tasks.verification_code_send): one statement each, in
# autocommit, no read before a write. Plain SQL, built once per process: the ORM has no
# UPDATE … RETURNING, and building an update through it costs as much as running it here.
# Table and column names come from the model's _meta; every value is a bound parameter.

_CLAIMED_FIELDS = ("channel", "target", "language")


@cache
def _delivery_sql(vendor: str) -> dict[str, str]:
    meta, quote = VerificationCode._meta, connection.ops.quote_name
    table = quote(meta.db_table)
    column = {field.name: quote(field.column) for field in meta.concrete_fields if field.column is not None}
    attempts = column["delivery_attempts"]
    returning = ", ".join(column[name] for name in _CLAIMED_FIELDS)
    if vendor == "postgresql":
        # The claim's commit need not wait for the disk (synchronous_commit off, for this one
        # statement's transaction): it is visible at once and outlives the worker, and only a
        # crash of PostgreSQL itself within a fraction of a second could lose it, which costs
        # an attempt count, never a send. The SENT record keeps its synchronous commit.
        returning += ", set_config('synchronous_commit', 'off', true)"
    return {
        "claim": (
            f"UPDATE {table} SET {attempts} = {attempts} + 1 "  # noqa: S608 - names from _meta
            f"WHERE {column['id']} = %s AND {column['state']} = %s AND {column['delivery']} = %s "
            f"AND {column['expires_at']} > %s RETURNING {returning}"
        ),
        "sent": (
            f"UPDATE {table} SET {column['delivery']} = %s, {column['delivered_at']} = %s "  # noqa: S608
            f"WHERE {column['id']} = %s AND {column['delivery']} = %s"
        ),
    }


def verification_code_delivery_claim(*, code_id: int, now: datetime) -> VerificationCode | None:
    """Count one delivery attempt of a pending, queued, unexpired code and return it; else None.

    One `UPDATE … WHERE … RETURNING` (PostgreSQL, SQLite >= 3.35), committed before the
    provider is called (on PostgreSQL without waiting for the disk, see _delivery_sql), so a
    worker that dies mid-send leaves its attempt behind. The code returned carries only what
    a send needs: pk, channel, target, language.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            _delivery_sql(connection.vendor)["claim"],
            [
                code_id,
                VerificationCode.State.PENDING.value,
                VerificationCode.Delivery.QUEUED.value,
                connection.ops.adapt_datetimefield_value(now),
            ],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return VerificationCode(pk=code_id, **dict(zip(_CLAIMED_FIELDS, row[: len(_CLAIMED_FIELDS)], strict=True)))


def verification_code_delivery_sent(*, code_id: int, now: datetime) -> None:
    """Record the send: one UPDATE, only while the delivery is still queued."""
    with connection.cursor() as cursor:
        cursor.execute(
            _delivery_sql(connection.vendor)["sent"],
            [
                VerificationCode.Delivery.SENT.value,
                connection.ops.adapt_datetimefield_value(now),
                code_id,
                VerificationCode.Delivery.QUEUED.value,
            ],
        )


def verification_code_delivery_skip(*, code_id: int, now: datetime | None) -> bool:
    """Record as SKIPPED a queued delivery of a pending code that expired (`now` None: its seal has).

    Returns whether it was recorded; False when the code is settled or its delivery done.
    """
    codes = VerificationCode.objects.filter(
        pk=code_id, state=VerificationCode.State.PENDING, delivery=VerificationCode.Delivery.QUEUED
    )
    if now is not None:
        codes = codes.filter(expires_at__lte=now)
    return bool(codes.update(delivery=VerificationCode.Delivery.SKIPPED))


def verification_code_delivery_fail(*, code_id: int) -> None:
    """Record that the provider refused the code or retries ran out (never over a SENT)."""
    VerificationCode.objects.filter(pk=code_id).exclude(delivery=VerificationCode.Delivery.SENT).update(
        delivery=VerificationCode.Delivery.FAILED
    )


def _record_failure(row: VerificationTarget, now: datetime) -> VerificationWait:
    """Count one more consecutive failure on the (locked) target row; return the wait it starts."""
    row.consecutive_failures += 1
    wait = failure_wait(row.consecutive_failures)
    row.wait_until = now + wait
    row.save(update_fields=["consecutive_failures", "wait_until"])
    if _is_locked(row):
        logger.warning(
            "verification target %s locked after %s failures", mask_target(row.target), row.consecutive_failures
        )
    return VerificationWait(math.ceil(wait.total_seconds()), until=row.wait_until, failures=row.consecutive_failures)


@cache
def _settle_sql(also: str = "") -> str:
    # `also`: a further condition of the WHERE (the verify's CTE: the target below the lock).
    column = _quoted_columns(VerificationCode)
    return (
        f"UPDATE {connection.ops.quote_name(VerificationCode._meta.db_table)} "  # noqa: S608 - names from _meta
        f"SET {column['state']} = %s, {column['used_at']} = %s WHERE {column['id']} = %s AND {column['state']} = %s"
        f"{also} RETURNING {', '.join(column.values())}"
    )


def _settle(
    code_id: int, state: str, now: datetime, *, was: str = VerificationCode.State.PENDING
) -> VerificationCode | None:
    """`was` → `state` as one conditional UPDATE … RETURNING (plain SQL, built once): the code as
    it is now, or None when it was not in state `was` (settled by another request, or missing)."""
    with connection.cursor() as cursor:
        cursor.execute(_settle_sql(), [state, connection.ops.adapt_datetimefield_value(now), code_id, str(was)])
        row = cursor.fetchone()
    return model_from_row(VerificationCode, row) if row is not None else None


@cache
def _target_and_use_sql() -> str:
    code_column, target_column = _quoted_columns(VerificationCode), _quoted_columns(VerificationTarget)
    returned = ", ".join(
        [
            *(f"locked_target.{name}" for name in target_column.values()),
            *(f"used_code.{name}" for name in code_column.values()),
        ]
    )
    # `used_code` reads `locked_target`'s row: PostgreSQL runs the upsert (and takes its lock) before it
    # looks at the code, and only for a target below the lock's count does the code change.
    below_lock = f" AND (SELECT {target_column['consecutive_failures']} FROM locked_target) < %s"  # noqa: S608
    return (
        f"WITH locked_target AS ({_target_upsert_sql()}), "  # noqa: S608 - names from _meta
        f"used_code AS ({_settle_sql(below_lock)}) "
        f"SELECT {returned} FROM locked_target LEFT JOIN used_code ON TRUE"
    )


def _target_locked_and_code_used(
    target: str, code_id: int | None, now: datetime
) -> tuple[VerificationTarget, VerificationCode | None]:
    """The target's row, created if needed and locked (`_target_row_locked`), and, unless the
    target is locked out, code `code_id` settled as USED and read back (`_settle`); None when
    the code is missing, no longer pending, or the target is locked out (the code untouched).

    On PostgreSQL one statement: the upsert and the settle as two data-modifying CTEs, the
    target's first (the settle's condition reads it), so attempts on one target still go one
    at a time, in the order of the target's lock. Elsewhere the two statements, in that order.
    """
    if code_id is None or connection.vendor != "postgresql":
        row = _target_row_locked(target)
        if code_id is None or _is_locked(row):
            return row, None
        return row, _settle(code_id, VerificationCode.State.USED, now)
    State = VerificationCode.State
    params = [
        target,
        State.USED.value,
        connection.ops.adapt_datetimefield_value(now),
        code_id,
        State.PENDING.value,
        app_settings.MAX_CONSECUTIVE_FAILURES,
    ]
    with connection.cursor() as cursor:
        cursor.execute(_target_and_use_sql(), params)
        row, code = models_from_row(cursor.fetchone(), VerificationTarget, VerificationCode)
    return row, code


def verification_code_verify(
    *,
    code_id: int | None,
    purpose: str,
    target: str,
    raw_code,
    user: User | None = None,
    then: Callable[[], object] | None = None,
) -> VerificationCode:
    """Check `raw_code` against code `code_id`, issued for exactly this purpose, target and user.

    Success marks the code USED and resets the target's failures, then calls `then` inside
    the same transaction (the sign-in: one transaction, one commit; an exception it raises
    undoes the use of the code too). A wrong or expired code
    is burned and counted (VerificationFailed with the wait); a code already settled, or no
    code (`code_id` None: the flow gave it up), raises VerificationFailed("used"). Raises
    VerificationLocked for a locked target.
    """
    plain = normalize_code(raw_code)
    user_id = user.pk if user is not None else None
    with transaction.atomic():
        now = timezone.now()
        # The target row is locked first: attempts on one target are counted one at a time.
        # One try: the code leaves PENDING now, whatever the outcome. Settled as USED and read
        # back with the target; a code that does not verify becomes BURNED below, in this same
        # transaction, so no other request ever sees it USED.
        row, code = _target_locked_and_code_used(target, code_id, now)
        if _is_locked(row):
            raise VerificationLocked(target, failures=row.consecutive_failures)
        if code is None:  # missing, or no longer pending
            raise VerificationFailed("used", _wait_for(row, now))

        bound = code.purpose == purpose and code.target == target and code.user_id == user_id
        expected = code.code_hash
        offered = _code_hash(purpose=purpose, target=target, code=plain) if plain else ""
        matches = hmac.compare_digest(expected, offered) and bound

        if matches and not code.is_expired(now):
            if row.consecutive_failures or row.wait_until is not None:  # else already reset: no write
                row.consecutive_failures = 0
                row.wait_until = None
                row.save(update_fields=["consecutive_failures", "wait_until"])
            logger.info("verification code #%s verified for %s", code.pk, mask_target(target))
            if then is not None:
                then()
            return code

        reason = "expired" if code.is_expired(now) else "wrong"
        _settle(code.pk, VerificationCode.State.BURNED, now, was=VerificationCode.State.USED)
        failed = VerificationFailed(reason, _record_failure(row, now))
    # Raised outside the block: the burn and the failure count must commit.
    logger.info("verification code #%s burned (%s) for %s", code_id, failed.reason, mask_target(target))
    raise failed


@transaction.atomic
def verification_target_unlock(*, target: str, acting_user: User) -> None:
    """Platform staff: clear the failure count and wait of a target (after the 100-failure
    lock), with an audit row (the platform's: a target is nobody's roster)."""
    row = VerificationTarget.objects.select_for_update().filter(target=target).first()
    if row is None:
        return
    old_value = f"consecutive_failures={row.consecutive_failures} wait_until={row.wait_until or '-'}"
    row.consecutive_failures, row.wait_until = 0, None
    row.save(update_fields=["consecutive_failures", "wait_until"])
    audit_log_record(
        actor=acting_user,
        action=AuditLogEntry.Action.TARGET_UNLOCK,
        target=row,
        target_label=mask_target(target),
        old_value=old_value,
        new_value="consecutive_failures=0 wait_until=-",
    )
    logger.info("verification target %s unlocked", mask_target(target))
