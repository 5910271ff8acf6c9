"""Accounts: who signs in, what their attribute allows, the operators' roster, and codes.

The roster (operator, property, unit, lease) lives here rather than in `smarthome`
because it decides who an account *is*: the attribute it takes and the operator whose
contact it is shown. `smarthome` builds on it (a device may belong to a unit); nothing
here depends on `smarthome`.
"""

from __future__ import annotations

import datetime
import secrets
from typing import ClassVar

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField

from myspacecore.core.masking import mask_phone


def new_session_token() -> str:
    return secrets.token_hex(16)


class UserAttribute(models.Model):
    """What an account may do (ユーザー属性). Policy as data, edited by platform staff."""

    code = models.SlugField(_("コード"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=64)
    # Names are data, so the English screens need their own (the msgid catalogue cannot hold them).
    name_en = models.CharField(
        _("名称（英語）"),
        max_length=64,
        blank=True,
        help_text=_("英語の画面で表示する名称。空欄なら名称を表示します。"),
    )
    description = models.TextField(_("説明"), blank=True)
    can_set_email = models.BooleanField(
        _("メールアドレスの設定・変更"),
        default=True,
        help_text=_("登録時のメールアドレス入力ステップも、これで表示が決まります。"),
    )
    can_change_phone = models.BooleanField(_("電話番号の変更（本人）"), default=False)
    # An account with accepted leases of several operators takes the attribute of highest
    # precedence among them (the most restrictive); with none, `owner`.
    precedence = models.PositiveSmallIntegerField(
        _("優先度"),
        default=0,
        help_text=_("複数の入居契約を承認したアカウントは、優先度が最も高い属性になります。"),
    )

    class Meta:
        verbose_name = _("ユーザー属性")
        verbose_name_plural = pgettext_lazy("plural", "ユーザー属性")
        ordering = ["pk"]

    def __str__(self) -> str:
        """The name in the language of the page (English when there is an English name)."""
        if self.name_en and (get_language() or "").startswith("en"):
            return self.name_en
        return self.name


# Accounts
# ------------------------------------------------------------------------------


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, username: str | None = None, password: str | None = None, **extra):
        """A resident (phone_number, no username, no password) or a staff account."""
        user = self.model(username=username or None, **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_superuser(self, username: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(username=username, password=password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """One account: a resident (phone number + SMS code) or a staff member (username + password).

    The two never mix: a database constraint keeps staff without a phone number, so the
    resident sign-in can never produce a staff session, and residents have no usable
    password, so the admin sign-in never accepts them.
    """

    username = models.CharField(
        _("ユーザー名"),
        max_length=150,
        unique=True,
        null=True,
        blank=True,
        validators=[UnicodeUsernameValidator()],
        help_text=_("スタッフのみ。入居者は電話番号でサインインします。"),
    )
    phone_number = PhoneNumberField(_("電話番号"), unique=True, null=True, blank=True)
    attribute = models.ForeignKey(
        UserAttribute,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
        verbose_name=_("ユーザー属性"),
    )
    # Staff membership: the operator whose data this staff account may see.
    operator = models.ForeignKey(
        "tenancy.Operator",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="staff",
        verbose_name=_("所属事業者"),
    )
    language = models.CharField(
        _("言語"), max_length=8, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )
    # Staff only (a resident's address is on the profile): where the notices about their
    # sign-in go, e.g. failed passwords throttling it.
    email = models.EmailField(
        _("メールアドレス"),
        blank=True,
        help_text=_("スタッフのみ。サインインが制限されたときなどのお知らせが届きます。"),
    )
    is_staff = models.BooleanField(_("スタッフ"), default=False)
    is_active = models.BooleanField(_("有効"), default=True)
    date_joined = models.DateTimeField(_("登録日時"), default=timezone.now)
    # Part of the session hash: replacing it ends every session of the account.
    session_token = models.CharField(max_length=32, default=new_session_token, editable=False)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "username"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("アカウント")
        verbose_name_plural = pgettext_lazy("plural", "アカウント")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(username__isnull=False) | models.Q(phone_number__isnull=False),
                name="user_has_username_or_phone",
            ),
            models.CheckConstraint(
                condition=models.Q(phone_number__isnull=True) | models.Q(is_staff=False, is_superuser=False),
                name="user_resident_is_never_staff",
            ),
        ]

    def __str__(self) -> str:
        if self.username:
            return self.username
        return mask_phone(str(self.phone_number)) if self.phone_number else f"#{self.pk}"

    @property
    def is_resident(self) -> bool:
        return self.phone_number is not None

    def _session_hash(self, secret: str | bytes | None = None) -> str:
        return salted_hmac(
            "accounts.User.session_hash",
            f"{self.password}:{self.session_token}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    def get_session_auth_hash(self) -> str:
        return self._session_hash()

    def get_session_auth_fallback_hash(self):
        for fallback_secret in settings.SECRET_KEY_FALLBACKS:
            yield self._session_hash(secret=fallback_secret)


class AccountSession(AbstractBaseSession):
    """A session row that names its account (the site's session table, SESSION_ENGINE).

    Django's own table cannot tell whose a session is without decoding every row; with the
    account's id in an indexed column, ending an account's sessions (deletion, a phone
    change) deletes its rows in one statement, whatever the table's size. The session store
    (`accounts.sessions`) writes the column at every save: sign-in, a new key, sign-out.
    """

    account_id = models.BigIntegerField(null=True, blank=True, db_index=True, editable=False)

    class Meta(AbstractBaseSession.Meta):
        db_table = "accounts_session"

    @classmethod
    def get_session_store_class(cls):
        from accounts.sessions import SessionStore

        return SessionStore


class Profile(models.Model):
    """The MySpaceCore profile: created at the end of registration, and only there."""

    class Gender(models.TextChoices):
        MALE = "male", _("男性")
        FEMALE = "female", _("女性")
        OTHER = "other", _("その他")
        UNANSWERED = "unanswered", _("回答しない")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile", verbose_name=_("アカウント")
    )
    # Ten grapheme clusters may be many code points (👨‍👩‍👧 is five); the form counts clusters.
    nickname = models.CharField(_("ニックネーム"), max_length=80)
    birth_year = models.PositiveSmallIntegerField(_("生年"))
    gender = models.CharField(_("性別"), max_length=16, choices=Gender.choices)
    # NULL, not "", for "no address": the unique constraint must ignore accounts without one.
    email = models.EmailField(_("メールアドレス"), null=True, blank=True)  # noqa: DJ001
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)

    class Meta:
        verbose_name = _("MySpaceCore プロフィール")
        verbose_name_plural = pgettext_lazy("plural", "MySpaceCore プロフィール")
        constraints = [
            models.UniqueConstraint(Lower("email"), name="profile_email_unique_ci"),
        ]

    def __str__(self) -> str:
        return self.nickname


# Verification codes
# ------------------------------------------------------------------------------


class VerificationCode(models.Model):
    """One 6-digit code sent to one target for one purpose. Only its keyed hash is stored."""

    class Purpose(models.TextChoices):
        SIGN_IN = "sign_in", _("サインイン")
        EMAIL = "email", _("メールアドレス確認")
        PHONE_CHANGE = "phone_change", _("電話番号変更")

    class Channel(models.TextChoices):
        SMS = "sms", "SMS"
        EMAIL = "email", _("メール")

    class State(models.TextChoices):
        PENDING = "pending", _("未使用")
        USED = "used", _("使用済み")
        BURNED = "burned", _("無効（誤入力・期限切れ）")
        SUPERSEDED = "superseded", _("無効（再発行）")
        CANCELLED = "cancelled", _("無効（送信不可）")

    class Delivery(models.TextChoices):
        QUEUED = "queued", _("送信待ち")
        SENT = "sent", _("送信済み")
        FAILED = "failed", _("送信失敗")
        SKIPPED = "skipped", _("期限切れのため未送信")

    purpose = models.CharField(_("用途"), max_length=16, choices=Purpose.choices)
    channel = models.CharField(_("送信方法"), max_length=8, choices=Channel.choices)
    target = models.CharField(_("送信先"), max_length=254)
    code_hash = models.CharField(max_length=64, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="verification_codes",
        verbose_name=_("アカウント"),
    )
    language = models.CharField(_("言語"), max_length=8, default=settings.LANGUAGE_CODE)
    state = models.CharField(_("状態"), max_length=16, choices=State.choices, default=State.PENDING)
    delivery = models.CharField(_("送信状況"), max_length=16, choices=Delivery.choices, default=Delivery.QUEUED)
    delivery_attempts = models.PositiveSmallIntegerField(_("送信試行回数"), default=0)
    created_at = models.DateTimeField(_("発行日時"), default=timezone.now)
    expires_at = models.DateTimeField(_("有効期限"))
    used_at = models.DateTimeField(_("使用日時"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("送信日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("認証コード")
        verbose_name_plural = pgettext_lazy("plural", "認証コード")
        indexes = [
            models.Index(fields=["target", "purpose", "state"], name="code_target_purpose_state_idx"),
            models.Index(fields=["expires_at"], name="code_expires_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} #{self.pk}"

    def is_expired(self, now: datetime.datetime | None = None) -> bool:
        return (now or timezone.now()) >= self.expires_at


class VerificationTarget(models.Model):
    """Failure count and wait of one target (a phone number or an address), across codes.

    Keyed on the target, not on a session or an IP, so dropping cookies or changing
    address does not shorten the wait.
    """

    target = models.CharField(_("送信先"), max_length=254, unique=True)
    consecutive_failures = models.PositiveIntegerField(_("連続失敗回数"), default=0)
    wait_until = models.DateTimeField(_("再送信可能日時"), null=True, blank=True)
    last_issued_at = models.DateTimeField(_("最終発行日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("認証の送信先")
        verbose_name_plural = pgettext_lazy("plural", "認証の送信先")

    def __str__(self) -> str:
        return self.target


# The operator console's two kinds of account
# ------------------------------------------------------------------------------


class ResidentAccount(User):
    """Residents (phone-number accounts) as the operator console lists them."""

    class Meta:
        proxy = True
        verbose_name = _("入居者アカウント")
        verbose_name_plural = pgettext_lazy("plural", "入居者アカウント")


class StaffAccount(User):
    """Staff accounts (username + password) as the operator console lists them."""

    class Meta:
        proxy = True
        verbose_name = _("スタッフアカウント")
        verbose_name_plural = pgettext_lazy("plural", "スタッフアカウント")
