"""The MySpaceCore profile: registration, nickname and e-mail changes, and phone-number changes.

Every rule of SPEC "Registration wizard" and "Editing" that is not about the shape of
the input lives here, so the wizard, the edit page and the operator admin all go
through the same functions. Code verification is *not* done here: the caller proves the
address or number first (the resident with a code, the operator by their own
procedure), because a failed verification must burn its code in its own transaction,
which an enclosing `atomic` around it would roll back.
"""

from __future__ import annotations

import datetime
import logging
import unicodedata

import regex
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from phonenumber_field.phonenumber import to_python as phone_to_python

from accounts.models import Profile, User
from accounts.notices import resident_contact_operator_id
from accounts.selectors import email_in_use, phone_in_use
from accounts.services.sessions import user_sessions_end
from accounts.tasks import profile_email_changed_notice_send, user_phone_changed_notice_send
from myspacecore.core.masking import mask_email, mask_phone
from myspacecore.core.phone_numbers import jp_mobile_validate
from myspacecore.tenancy.models import Lease, Operator
from myspacecore.tenancy.sql import row_update

logger = logging.getLogger(__name__)

NICKNAME_MAX_GRAPHEMES = 10
# The model column holds code points; ten clusters with stacked combining marks can exceed it.
NICKNAME_MAX_CODE_POINTS: int = Profile._meta.get_field("nickname").max_length or 0
BIRTH_YEAR_SPAN = 120

# Format characters (Cf) that emoji sequences need: the zero-width joiner of 👨‍👩‍👧 and the
# tag characters of subdivision flags (🏴󠁧󠁢󠁳󠁣󠁴󠁿). Variation selectors are Mn, so never refused.
_EMOJI_FORMAT_CHARACTERS = frozenset({"\u200d", *(chr(cp) for cp in range(0xE0020, 0xE0080))})


# Validation shared by the forms and the services
# ------------------------------------------------------------------------------


def nickname_clean(raw: str) -> str:
    """Trim, refuse control characters, count grapheme clusters (1–10) and return the NFC form.

    A person counts 👨‍👩‍👧 (five code points) and が (also か + combining ゙) as one
    character each, so the count is of extended grapheme clusters (`\\X`).
    """
    nickname = (raw or "").strip()
    for char in nickname:
        category = unicodedata.category(char)
        if category == "Cc" or (category == "Cf" and char not in _EMOJI_FORMAT_CHARACTERS):
            raise ValidationError(_("ニックネームに使用できない文字（制御文字）が含まれています。"), code="control")
    if not nickname:
        raise ValidationError(_("ニックネームを入力してください。"), code="required")
    nickname = unicodedata.normalize("NFC", nickname)
    if len(regex.findall(r"\X", nickname)) > NICKNAME_MAX_GRAPHEMES:
        raise ValidationError(
            _("ニックネームは%(max)d文字以内で入力してください。") % {"max": NICKNAME_MAX_GRAPHEMES},
            code="max_length",
        )
    if len(nickname) > NICKNAME_MAX_CODE_POINTS:
        raise ValidationError(_("ニックネームに組み合わせ文字が多すぎます。"), code="max_code_points")
    return nickname


def birth_year_range(*, today: datetime.date | None = None) -> range:
    """Selectable birth years: this year back to 120 years ago (this year included)."""
    year = (today or timezone.localdate()).year
    return range(year, year - BIRTH_YEAR_SPAN - 1, -1)


def birth_year_validate(year: int) -> None:
    if year not in birth_year_range():
        raise ValidationError(_("生年を一覧から選択してください。"), code="invalid_choice")


def email_validate_available(*, email: str, user: User) -> None:
    """Refuse an address another account uses, without saying whose (or that it is taken)."""
    if email_in_use(email=email, exclude_user=user):
        raise ValidationError(
            _("このメールアドレスは使用できません。別のアドレスを入力してください。"), code="unavailable"
        )


def phone_validate_available(*, phone: str, user: User) -> None:
    if phone_in_use(phone=phone, exclude_user=user):
        raise ValidationError(_("この電話番号は使用できません。別の番号を入力してください。"), code="unavailable")


# Services
# ------------------------------------------------------------------------------


@transaction.atomic
def profile_register(*, user: User, nickname: str, birth_year: int, gender: str, email: str | None) -> Profile:
    """Create the account's MySpaceCore profile (wizard step 4), or return the one it has.

    Idempotent on purpose: a double submit, a reload of the POST or a second tab all
    answer the existing profile instead of a second one or an error. The user row is
    locked so two concurrent requests serialise on PostgreSQL; the one-to-one constraint
    is the last line on any database.
    """
    User.objects.select_for_update().filter(pk=user.pk).first()
    existing = Profile.objects.filter(user=user).first()
    if existing is not None:
        return existing
    if email and not (user.attribute and user.attribute.can_set_email):
        raise PermissionDenied("attribute does not allow an e-mail address")
    profile = Profile(
        user=user,
        nickname=nickname_clean(nickname),
        birth_year=birth_year,
        gender=gender,
        email=email.strip() if email else None,
    )
    birth_year_validate(profile.birth_year)
    if profile.email:
        email_validate_available(email=profile.email, user=user)
    profile.full_clean()
    try:
        with transaction.atomic():
            profile.save()
    except IntegrityError:
        # Lost a race on the user or the address: answer what the database now holds.
        existing = Profile.objects.filter(user=user).first()
        if existing is not None:
            return existing
        raise ValidationError(
            {"email": _("このメールアドレスは使用できません。別のアドレスを入力してください。")}
        ) from None
    user.profile = profile
    logger.info("profile registered: user=%s", user.pk)
    return profile


def profile_nickname_change(*, user: User, nickname: str) -> Profile:
    """Change the nickname (every attribute may). Birth year and gender are never changed.

    One UPDATE of the nickname alone (`update_fields`), on the profile read with the account
    (the session's user carries it): nothing else of the row is written, so no lock is needed
    and the statement is atomic by itself.
    """
    profile = user.profile
    profile.nickname = nickname_clean(nickname)
    # Only the nickname changes, so only it is validated, as a ModelForm of that one field would:
    # the row's other values were validated when they were written, and their uniqueness checks
    # (the account's one profile, the address) were three queries that could not fail here.
    profile.full_clean(exclude=_PROFILE_FIELDS_BUT_NICKNAME)
    row_update(profile, ["nickname", "updated_at"])  # profile.save(update_fields=…), built once per process
    return profile


_PROFILE_FIELDS_BUT_NICKNAME = [field.name for field in Profile._meta.concrete_fields if field.name != "nickname"]


@transaction.atomic
def profile_email_change(*, user: User, email: str) -> Profile:
    """Set or change the verified address; the old address (if any) gets a notice.

    The caller has proved the address with an e-mail code. Refused (PermissionDenied)
    when the account's attribute does not allow an address.
    """
    if not (user.attribute and user.attribute.can_set_email):
        raise PermissionDenied("attribute does not allow an e-mail address")
    profile = Profile.objects.select_for_update().get(user=user)
    email = email.strip()
    email_validate_available(email=email, user=user)
    old_email = profile.email
    profile.email = email
    profile.full_clean()
    try:
        with transaction.atomic():
            profile.save(update_fields=["email", "updated_at"])
    except IntegrityError:
        raise ValidationError(
            {"email": _("このメールアドレスは使用できません。別のアドレスを入力してください。")}
        ) from None
    if old_email and old_email.lower() != email.lower():
        notice = {"language": user.language, "contact_operator_id": resident_contact_operator_id(user=user)}
        transaction.on_commit(
            lambda: profile_email_changed_notice_send.apply_async(
                kwargs={**notice, "old_email": old_email},
                # What Celery logs of the task (received, succeeded): never the address in clear.
                kwargsrepr=repr({**notice, "old_email": mask_email(old_email)}),
            )
        )
    logger.info("profile e-mail changed: user=%s new=%s", user.pk, mask_email(email))
    return profile


@transaction.atomic
def user_phone_change(
    *,
    user: User,
    new_phone: str,
    acting_user: User | None = None,
    keep: HttpRequest | None = None,
    changed_by: Operator | None = None,
) -> User:
    """Change the account's sign-in phone number, end its sessions and notify the old number.

    `acting_user` is whoever asked for the change: the resident (after an SMS code) or an
    operator's staff member in the admin. Every session of the account ends (SPEC: a
    phone-number change ends the account's other sessions), except `keep`'s when the
    resident changes their own number from that request. The notice SMS to the old number
    leaves on commit, through the same Celery delivery as codes, never inside the request.
    """
    phone = phone_to_python(new_phone, region="JP") if new_phone else None
    if not phone or not phone.is_valid():
        raise ValidationError({"phone_number": _("正しい電話番号を入力してください。")})
    try:
        jp_mobile_validate(phone)
    except ValidationError as exc:
        raise ValidationError({"phone_number": exc.messages}) from None
    e164 = phone.as_e164
    locked = User.objects.select_for_update().get(pk=user.pk)
    old_phone = locked.phone_number.as_e164 if locked.phone_number else ""
    if old_phone == e164:
        raise ValidationError({"phone_number": _("現在の電話番号と同じです。")})
    phone_validate_available(phone=e164, user=user)
    user.phone_number = e164
    user.full_clean(exclude=["password"])
    try:
        with transaction.atomic():
            user.save(update_fields=["phone_number"])
    except IntegrityError:
        raise ValidationError(
            {"phone_number": _("この電話番号は使用できません。別の番号を入力してください。")}
        ) from None
    user_sessions_end(user=user, keep=keep)
    if old_phone:
        # The roster follows the account: otherwise whoever is given the old number next would
        # be linked to this resident's lease at their first sign-in.
        # An operator's change moves only that operator's entries: never another's lease.
        following = Lease.objects.filter(resident=user, phone_number=old_phone).not_ended()
        if changed_by is not None:
            following = following.filter(unit__property__operator=changed_by)
        following.update(phone_number=e164)
        language = user.language
        email = Profile.objects.filter(user=user).values_list("email", flat=True).first() or None
        notice = {
            "old_phone": old_phone,
            "language": language,
            "operator_id": changed_by.pk if changed_by else None,
            # Whom the notice says to call: the company that changed it, else the resident's own.
            "contact_operator_id": resident_contact_operator_id(user=user, changed_by=changed_by),
        }
        transaction.on_commit(
            lambda: user_phone_changed_notice_send.apply_async(
                kwargs={**notice, "email": email},
                # What Celery logs of the task (received, succeeded): never the number or address in clear.
                kwargsrepr=repr({**notice, "old_phone": mask_phone(old_phone), "email": email and mask_email(email)}),
            )
        )
    logger.info(
        "phone changed: user=%s acting_user=%s old=%s new=%s",
        user.pk,
        acting_user.pk if acting_user else None,
        mask_phone(old_phone),
        mask_phone(e164),
    )
    return user
