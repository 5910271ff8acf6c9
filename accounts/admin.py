"""Accounts' pages in the operator console: residents and their requests, staff accounts,
and (platform staff only) user attributes, verification codes and targets.

Every ModelAdmin here builds on `ScopedModelAdmin` (myspacecore.tenancy.scoped_admin),
which narrows lists, object pages, choices, filters, search, autocomplete and actions to
the staff member's operator. The state changes go through services, which write the
audit rows.

Searches on the large tables are `__exact` on an indexed column (phone number,
username, serial number, target): `=field` would be `iexact`, an UPPER() that no
index serves.
"""

from __future__ import annotations

from http import HTTPStatus

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.forms.console import ResidentPhoneChangeForm, StaffAccountForm
from accounts.models import ResidentAccount, StaffAccount, User, UserAttribute, VerificationCode, VerificationTarget
from accounts.services.resident_requests import resident_phone_change_on_request, resident_sessions_end_on_request
from accounts.services.staff import staff_account_create, staff_account_update
from accounts.services.staff_otp import staff_otp_reset
from accounts.services.staff_signin import staff_signin_unlock
from accounts.services.verification import verification_target_unlock
from myspacecore.tenancy.scoped_admin import (
    PlatformOnlyAdmin,
    ReadOnlyAdminMixin,
    ScopedModelAdmin,
    acting_staff,
    phone_search_term,
)

# Residents and their requests
# ------------------------------------------------------------------------------


@admin.register(ResidentAccount)
class ResidentAccountAdmin(ScopedModelAdmin):
    list_display = ["phone_number", "nickname", "attribute", "is_active", "date_joined"]
    list_select_related = ["attribute", "profile"]
    list_filter = ["attribute", "is_active"]
    search_fields = ["phone_number__exact"]
    # No e-mail address: the operator reaches its residents by phone, and the notices of a
    # change are ours to send; the address is none of the company's business.
    fields = ("phone_number", "nickname", "attribute", "is_active", "date_joined", "last_login")
    readonly_fields = fields
    actions = ["end_sessions"]
    change_form_template = "admin/accounts/residentaccount/change_form.html"

    def get_queryset(self, request: HttpRequest):
        # ChangeList skips list_select_related once the queryset has a select_related.
        return (
            super().get_queryset(request).filter(phone_number__isnull=False).select_related(*self.list_select_related)
        )

    def get_search_results(self, request: HttpRequest, queryset, search_term: str):
        return super().get_search_results(request, queryset, phone_search_term(search_term))

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Accounts are created by signing in; the operator registers leases instead.
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        # Deletion is the resident's own flow (SPEC "Deletion"), never the operator's.
        return False

    @admin.display(description=_("ニックネーム"))
    def nickname(self, obj: User) -> str:
        profile = getattr(obj, "profile", None)
        return profile.nickname if profile else "-"

    @admin.action(description=_("選択した入居者のすべてのセッションを終了"), permissions=["change"])
    def end_sessions(self, request: HttpRequest, queryset):
        count = 0
        for resident in queryset:
            resident_sessions_end_on_request(resident=resident, acting_user=acting_staff(request))
            count += 1
        self.message_user(
            request,
            ngettext(
                "%(count)d人の入居者のセッションを終了しました。",
                "%(count)d人の入居者のセッションを終了しました。",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )

    def get_urls(self):
        return [
            path(
                "<path:object_id>/phone/",
                self.admin_site.admin_view(self.phone_change_view),
                name="accounts_residentaccount_phone",
            ),
            *super().get_urls(),
        ]

    def phone_change_view(self, request: HttpRequest, object_id: str):
        """Change a resident's phone number on their request, through the resident's own service."""
        resident = self.get_object(request, object_id)
        if not self.has_change_permission(request, resident):
            raise PermissionDenied
        form = ResidentPhoneChangeForm(request.POST or None)
        status = HTTPStatus.OK
        if request.method == "POST":
            if form.is_valid():
                try:
                    resident_phone_change_on_request(
                        resident=resident,
                        new_phone=form.cleaned_data["phone_number"],
                        acting_user=acting_staff(request),
                    )
                except ValidationError as error:
                    # Keyed `phone_number`: the message lands next to the field.
                    form.add_error(None, error)
                else:
                    self.message_user(request, _("電話番号を変更しました。"), messages.SUCCESS)
                    return HttpResponseRedirect(reverse("admin:accounts_residentaccount_change", args=[resident.pk]))
            status = HTTPStatus.BAD_REQUEST
        context = {
            **self.admin_site.each_context(request),
            "title": _("電話番号の変更"),
            "opts": self.model._meta,
            "original": resident,
            "form": form,
        }
        return TemplateResponse(request, "admin/accounts/residentaccount/phone_change.html", context, status=status)


# Staff accounts of the operator
# ------------------------------------------------------------------------------


def _apply_to_each(request: HttpRequest, queryset, service) -> tuple[int, int]:
    """Run a staff service (`staff=`, `acting_user=`) on each selected staff member: how many
    were done and how many the service refused (PermissionDenied), for the action's messages."""
    done = refused = 0
    for staff in queryset:
        try:
            service(staff=staff, acting_user=acting_staff(request))
        except PermissionDenied:
            refused += 1
        else:
            done += 1
    return done, refused


@admin.register(StaffAccount)
class StaffAccountAdmin(ScopedModelAdmin):
    form = StaffAccountForm
    list_display = ["username", "operator", "roles", "is_active", "last_login"]
    list_select_related = ["operator"]
    search_fields = ["username__exact"]
    actions = ["otp_reset", "signin_unlock"]

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).filter(is_staff=True).prefetch_related("groups")

    @admin.action(description=_("二段階認証をリセット（スマートフォン紛失時など）"), permissions=["change"])
    def otp_reset(self, request: HttpRequest, queryset) -> None:
        # The service decides who may reset whom (platform staff: anyone; operator admin: own staff).
        done, refused = _apply_to_each(request, queryset, staff_otp_reset)
        if done:
            message = ngettext(
                "%(count)d 件の二段階認証をリセットしました。次回のサインインで再設定できます。",
                "%(count)d 件の二段階認証をリセットしました。次回のサインインで再設定できます。",
                done,
            )
            messages.success(request, message % {"count": done})
        if refused:
            message = ngettext(
                "%(count)d 件は権限がないためリセットできませんでした。",
                "%(count)d 件は権限がないためリセットできませんでした。",
                refused,
            )
            messages.error(request, message % {"count": refused})

    @admin.action(description=_("サインインの制限を解除（パスワードの誤りが続いたとき）"), permissions=["change"])
    def signin_unlock(self, request: HttpRequest, queryset) -> None:
        # The service decides who may unlock whom, as for the second factor's reset.
        done, refused = _apply_to_each(request, queryset, staff_signin_unlock)
        if done:
            message = ngettext(
                "%(count)d 件のサインインの制限を解除しました。",
                "%(count)d 件のサインインの制限を解除しました。",
                done,
            )
            messages.success(request, message % {"count": done})
        if refused:
            message = ngettext(
                "%(count)d 件は権限がないため解除できませんでした。",
                "%(count)d 件は権限がないため解除できませんでした。",
                refused,
            )
            messages.error(request, message % {"count": refused})

    def get_fields(self, request: HttpRequest, obj=None):
        fields = ["username", "operator", "email", "role", "is_active"]
        if obj is None:
            fields += ["password1", "password2"]
        return fields

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        readonly = [] if request.user.is_superuser else ["operator"]
        if obj is not None:
            readonly.append("username")
        return readonly

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        # A staff account is deactivated (is_active), so its audit rows keep their actor.
        return False

    @admin.display(description=_("権限"))
    def roles(self, obj: User) -> str:
        return ", ".join(group.name for group in obj.groups.all())

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        data = form.cleaned_data
        acting = acting_staff(request)
        try:
            if change:
                staff_account_update(
                    staff=obj, role=data["role"], is_active=data["is_active"], acting_user=acting, email=data["email"]
                )
            else:
                # Platform staff choose the operator (the form requires it); an operator admin's
                # new staff join its own operator. Staff of no operator cannot add (has_add_permission).
                operator = data.get("operator") or acting.operator
                if operator is None:
                    raise PermissionDenied
                staff = staff_account_create(
                    operator=operator,
                    username=data["username"],
                    password=data["password1"],
                    role=data["role"],
                    acting_user=acting,
                    email=data["email"],
                )
                obj.pk = staff.pk
                obj._state.adding = False
        except ValidationError as error:
            # Reached only on a race (the username taken meanwhile): the form ran the same checks.
            raise PermissionDenied(" ".join(error.messages)) from None

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        # Groups were set by the service; the form has no relation of its own to save.
        return None


# Platform staff only: attribute policies, verification codes and targets, groups
# ------------------------------------------------------------------------------


@admin.register(UserAttribute)
class UserAttributeAdmin(PlatformOnlyAdmin):
    list_display = ["code", "name", "name_en", "can_set_email", "can_change_phone"]
    search_fields = ["code", "name", "name_en"]

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(VerificationCode)
class VerificationCodeAdmin(ReadOnlyAdminMixin, PlatformOnlyAdmin):
    """Read-only, and never the hash: enough to answer "was my code sent?"."""

    list_display = ["purpose", "channel", "target", "state", "delivery", "created_at", "expires_at"]
    list_filter = ["purpose", "state", "delivery"]
    search_fields = ["target__exact"]
    fields = (
        "purpose",
        "channel",
        "target",
        "user",
        "state",
        "delivery",
        "delivery_attempts",
        "created_at",
        "expires_at",
        "used_at",
        "delivered_at",
    )
    readonly_fields = fields


@admin.register(VerificationTarget)
class VerificationTargetAdmin(PlatformOnlyAdmin):
    list_display = ["target", "consecutive_failures", "wait_until", "last_issued_at"]
    search_fields = ["target__exact"]
    readonly_fields = ["target", "consecutive_failures", "wait_until", "last_issued_at"]
    actions = ["unlock"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("選択した送信先のロックを解除"), permissions=["change"])
    def unlock(self, request: HttpRequest, queryset):
        for target in queryset.values_list("target", flat=True):
            verification_target_unlock(target=target, acting_user=acting_staff(request))
        self.message_user(request, _("ロックを解除しました。"), messages.SUCCESS)
