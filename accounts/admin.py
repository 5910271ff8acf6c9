"""The operator console: the roster, residents' requests, staff accounts and the audit log.

Every ModelAdmin here (and in smarthome.admin) starts with OperatorScopedAdminMixin,
which narrows lists, object pages, choices, filters, search, autocomplete and actions
to the staff member's operator (accounts.admin_scoping). The state changes go through
services, which write the audit rows.

Searches on the large tables are `__exact` on an indexed column (phone number,
username, serial number, target): `=field` would be `iexact`, an UPPER() that no
index serves.
"""

from __future__ import annotations

import csv
from http import HTTPStatus

from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, npgettext
from phonenumber_field.phonenumber import PhoneNumber
from phonenumber_field.phonenumber import to_python as phone_to_python

from accounts.admin_forms import (
    LeaseImportConfirmForm,
    LeaseImportForm,
    ResidentPhoneChangeForm,
    StaffAccountForm,
)
from accounts.admin_scoping import OperatorScopedAdminMixin, operator_scope
from accounts.models import (
    AuditLogEntry,
    Lease,
    Operator,
    Property,
    ResidentAccount,
    StaffAccount,
    Unit,
    User,
    UserAttribute,
    VerificationCode,
    VerificationTarget,
)
from accounts.services.resident_requests import (
    resident_phone_change_on_request,
    resident_sessions_end_on_request,
    unit_move_out_now,
)
from accounts.services.roster import MAX_BYTES as ROSTER_MAX_BYTES
from accounts.services.roster import (
    lease_import,
    lease_import_preview,
    roster_csv_decode,
    roster_csv_rows,
)
from accounts.services.staff import staff_account_create, staff_account_update
from accounts.services.staff_otp import staff_otp_reset
from accounts.services.verification import verification_target_unlock


class ScopedModelAdmin(OperatorScopedAdminMixin, admin.ModelAdmin):
    pass


def phone_search_term(search_term: str) -> str:
    """`090-1234-5678` typed in a search box → `+819012345678`, the indexed E.164 column value."""
    phone = phone_to_python(search_term.strip(), region="JP")
    return phone.as_e164 if isinstance(phone, PhoneNumber) and phone.is_valid() else search_term


class _Echo:
    """A file-like object whose write returns the line, for csv.writer on a streaming response."""

    def write(self, value: str) -> str:
        return value


def _prepend(first, rest):
    yield first
    yield from rest


# The roster
# ------------------------------------------------------------------------------


@admin.register(Operator)
class OperatorAdmin(ScopedModelAdmin):
    list_display = ["name", "contact_phone", "contact_email", "contact_hours"]
    search_fields = ["name"]
    fields = ["name", "contact_phone", "contact_email", "contact_hours"]

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        # The company name identifies the tenant: only platform staff rename it.
        return [] if request.user.is_superuser else ["name"]


@admin.register(Property)
class PropertyAdmin(ScopedModelAdmin):
    list_display = ["name", "address", "operator", "lists_of_property"]
    list_select_related = ["operator"]
    list_filter = ["operator"]
    search_fields = ["name"]
    autocomplete_fields = ["operator"]

    def get_list_filter(self, request: HttpRequest):
        return super().get_list_filter(request) if request.user.is_superuser else []

    def get_changeform_initial_data(self, request: HttpRequest):
        return {"operator": request.user.operator_id, **super().get_changeform_initial_data(request)}

    @admin.display(description=_("この物件の一覧"))
    def lists_of_property(self, obj: Property) -> str:
        """Links to the units and leases of this property: how an operator with too many
        properties for a list filter's sidebar narrows those lists (ScopedRelatedFieldListFilter)."""
        lists = [
            (Unit, "admin:accounts_unit_changelist", "property__id__exact"),
            (Lease, "admin:accounts_lease_changelist", "unit__property__id__exact"),
        ]
        links = [(reverse(url), urlencode({key: obj.pk}), model._meta.verbose_name_plural) for model, url, key in lists]
        return format_html_join(" / ", '<a href="{}?{}">{}</a>', links)


@admin.register(Unit)
class UnitAdmin(ScopedModelAdmin):
    list_display = ["number", "property", "last_reset_at"]
    list_select_related = ["property"]
    list_filter = ["property"]
    search_fields = ["number__exact"]
    autocomplete_fields = ["property"]
    readonly_fields = ["last_reset_at"]
    actions = ["move_out_now"]

    def get_queryset(self, request: HttpRequest):
        # str(unit) names its property: autocomplete and delete pages list units too.
        return super().get_queryset(request).select_related(*self.list_select_related)

    @admin.action(description=_("退去リセットを今すぐ実行（1住戸）"), permissions=["change"])
    def move_out_now(self, request: HttpRequest, queryset):
        """Purge the remotes and PINs of one unit after a confirmation page (one unit at a time)."""
        units = list(queryset[:2])
        if len(units) != 1:
            self.message_user(request, _("退去リセットは1住戸ずつ実行してください。"), messages.WARNING)
            return None
        unit = units[0]
        if request.POST.get("confirm") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "title": _("退去リセットの確認"),
                "unit": unit,
                "opts": self.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/accounts/unit/move_out_confirm.html", context)
        result = unit_move_out_now(unit=unit, acting_user=request.user)
        remotes = ngettext("リモコン情報 %(count)d件", "リモコン情報 %(count)d件", result.remote_settings) % {
            "count": result.remote_settings
        }
        pins = ngettext("暗証番号 %(count)d件", "暗証番号 %(count)d件", result.pin_codes) % {"count": result.pin_codes}
        self.message_user(
            request,
            # Translators: remotes and pins are the counts above, e.g. "3 remote-control settings".
            _("%(unit)s の退去リセットを実行しました（%(remotes)s、%(pins)sを削除）。")
            % {"unit": unit, "remotes": remotes, "pins": pins},
            messages.SUCCESS,
        )
        return None


class LeaseStatusFilter(admin.SimpleListFilter):
    title = _("契約状況")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return Lease.Status.choices

    def queryset(self, request, queryset):
        value = self.value()
        if value == Lease.Status.CURRENT:
            return queryset.current()
        if value == Lease.Status.FUTURE:
            return queryset.future()
        if value == Lease.Status.PAST:
            return queryset.past()
        return queryset


@admin.register(Lease)
class LeaseAdmin(ScopedModelAdmin):
    list_display = ["unit", "phone_number", "attribute", "start_date", "end_date", "status_display", "linked"]
    list_select_related = ["unit__property", "attribute"]
    list_filter = [LeaseStatusFilter, "attribute", "unit__property"]
    search_fields = ["phone_number__exact"]
    autocomplete_fields = ["unit"]
    readonly_fields = ["resident", "created_at"]
    fields = ["unit", "phone_number", "attribute", "start_date", "end_date", "resident", "created_at"]
    change_list_template = "admin/accounts/lease/change_list.html"

    def get_queryset(self, request: HttpRequest):
        # ChangeList skips list_select_related once the queryset has a select_related.
        return super().get_queryset(request).select_related(*self.list_select_related)

    def get_search_results(self, request: HttpRequest, queryset, search_term: str):
        return super().get_search_results(request, queryset, phone_search_term(search_term))

    @admin.display(description=_("契約状況"))
    def status_display(self, obj: Lease) -> str:
        return obj.status().label

    @admin.display(description=_("アカウント連携"), boolean=True)
    def linked(self, obj: Lease) -> bool:
        return obj.resident_id is not None

    def get_urls(self):
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name="accounts_lease_import"),
            path("export/", self.admin_site.admin_view(self.export_view), name="accounts_lease_export"),
            *super().get_urls(),
        ]

    def _may_import(self, request: HttpRequest) -> bool:
        return self.has_add_permission(request) and self.has_change_permission(request)

    def changelist_view(self, request: HttpRequest, extra_context=None):
        # The changelist's context has has_add_permission but no has_change_permission.
        return super().changelist_view(request, {"may_import": self._may_import(request), **(extra_context or {})})

    def _import_operator(self, request: HttpRequest, operator_id) -> Operator:
        return get_object_or_404(operator_scope(Operator.objects.all(), request.user), pk=operator_id)

    def import_view(self, request: HttpRequest):
        """Upload → preview (every row checked, nothing written) → import all rows or none."""
        if not self._may_import(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": _("入居契約のCSV取り込み"),
            "opts": self.model._meta,
        }
        form = LeaseImportForm(user=request.user)
        status = HTTPStatus.OK
        if request.method == "POST" and "content" in request.POST:
            confirm = LeaseImportConfirmForm(request.POST)
            if confirm.is_valid():
                operator = self._import_operator(request, confirm.cleaned_data["operator"])
                try:
                    result = lease_import(
                        operator=operator, content=confirm.cleaned_data["content"], acting_user=request.user
                    )
                except ValidationError as error:
                    context["import_errors"] = error.messages
                    status = HTTPStatus.BAD_REQUEST
                else:
                    created = npgettext("lease import", "追加 %(count)d件", "追加 %(count)d件", result.created) % {
                        "count": result.created
                    }
                    updated = npgettext("lease import", "更新 %(count)d件", "更新 %(count)d件", result.updated) % {
                        "count": result.updated
                    }
                    units = npgettext(
                        "lease import", "新しい住戸 %(count)d件", "新しい住戸 %(count)d件", result.units_created
                    ) % {"count": result.units_created}
                    self.message_user(
                        request,
                        # Translators: created, updated and units are the counts above, e.g. "3 leases added".
                        _("取り込みました: %(created)s、%(updated)s、%(units)s。")
                        % {"created": created, "updated": updated, "units": units},
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(reverse("admin:accounts_lease_changelist"))
        elif request.method == "POST":
            form = LeaseImportForm(request.POST, request.FILES, user=request.user)
            if form.is_valid():
                operator = form.cleaned_data.get("operator") or request.user.operator
                try:
                    # One byte over the limit is enough to refuse it; never read a huge upload whole.
                    content = roster_csv_decode(form.cleaned_data["file"].read(ROSTER_MAX_BYTES + 1))
                except ValidationError as error:
                    form.add_error("file", error)
                    status = HTTPStatus.BAD_REQUEST
                else:
                    plan = lease_import_preview(operator=operator, content=content)
                    context["plan"] = plan
                    if plan.is_valid:
                        context["confirm_form"] = LeaseImportConfirmForm(
                            initial={"content": content, "operator": operator.pk}
                        )
                    else:
                        status = HTTPStatus.BAD_REQUEST
            else:
                status = HTTPStatus.BAD_REQUEST
        context["form"] = form
        return TemplateResponse(request, "admin/accounts/lease/import.html", context, status=status)

    def export_view(self, request: HttpRequest):
        """The roster the user may see, as CSV in the import's format, streamed in constant memory."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        leases = (
            self.get_queryset(request)
            .select_related("unit__property", "attribute")
            .order_by("unit__property__name", "unit__number", "start_date", "pk")
            .iterator(chunk_size=2000)
        )
        writer = csv.writer(_Echo())
        # A BOM first, so Excel opens the UTF-8 file with the right encoding.
        rows = (writer.writerow(row) for row in roster_csv_rows(leases=leases))
        response = StreamingHttpResponse(_prepend("\ufeff", rows), content_type="text/csv; charset=utf-8")
        filename = f"roster-{timezone.localdate():%Y%m%d}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


# Residents and their requests
# ------------------------------------------------------------------------------


@admin.register(ResidentAccount)
class ResidentAccountAdmin(ScopedModelAdmin):
    list_display = ["phone_number", "nickname", "attribute", "is_active", "date_joined"]
    list_select_related = ["attribute", "profile"]
    list_filter = ["attribute", "is_active"]
    search_fields = ["phone_number__exact"]
    fields = ["phone_number", "nickname", "email", "attribute", "is_active", "date_joined", "last_login"]
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

    @admin.display(description=_("メールアドレス"))
    def email(self, obj: User) -> str:
        profile = getattr(obj, "profile", None)
        if not (profile and profile.email):
            return "-"
        return profile.email

    @admin.action(description=_("選択した入居者のすべてのセッションを終了"), permissions=["change"])
    def end_sessions(self, request: HttpRequest, queryset):
        count = 0
        for resident in queryset:
            resident_sessions_end_on_request(resident=resident, acting_user=request.user)
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
                        resident=resident, new_phone=form.cleaned_data["phone_number"], acting_user=request.user
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


@admin.register(StaffAccount)
class StaffAccountAdmin(ScopedModelAdmin):
    form = StaffAccountForm
    list_display = ["username", "operator", "roles", "is_active", "last_login"]
    list_select_related = ["operator"]
    search_fields = ["username__exact"]
    actions = ["otp_reset"]

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).filter(is_staff=True).prefetch_related("groups")

    @admin.action(description=_("二段階認証をリセット（スマートフォン紛失時など）"), permissions=["change"])
    def otp_reset(self, request: HttpRequest, queryset) -> None:
        # The service decides who may reset whom (platform staff: anyone; operator admin: own staff).
        done = refused = 0
        for staff in queryset:
            try:
                staff_otp_reset(staff=staff, acting_user=request.user)
            except PermissionDenied:
                refused += 1
            else:
                done += 1
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

    def get_fields(self, request: HttpRequest, obj=None):
        fields = ["username", "operator", "role", "is_active"]
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
        try:
            if change:
                staff_account_update(
                    staff=obj, role=data["role"], is_active=data["is_active"], acting_user=request.user
                )
            else:
                staff = staff_account_create(
                    operator=data.get("operator") or request.user.operator,
                    username=data["username"],
                    password=data["password1"],
                    role=data["role"],
                    acting_user=request.user,
                )
                obj.pk = staff.pk
                obj._state.adding = False
        except ValidationError as error:
            # Reached only on a race (the username taken meanwhile): the form ran the same checks.
            raise PermissionDenied(" ".join(error.messages)) from None

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        # Groups were set by the service; the form has no relation of its own to save.
        return None


# The audit log
# ------------------------------------------------------------------------------


class ReadOnlyAdminMixin:
    """A record the console shows and never writes: no add, change or delete, for anyone."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(AuditLogEntry)
class AuditLogEntryAdmin(ReadOnlyAdminMixin, ScopedModelAdmin):
    list_display = ["created_at", "actor_label", "action", "target_label", "old_value", "new_value", "operator"]
    list_select_related = ["operator"]
    list_filter = ["action"]
    fields = list_display
    readonly_fields = list_display


# Platform staff only: attribute policies, verification codes and targets, groups
# ------------------------------------------------------------------------------


class PlatformOnlyMixin:
    """Superusers only, whatever permissions a group might carry."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser and super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_superuser and super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser and super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_superuser and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_superuser and super().has_delete_permission(request, obj)


class PlatformOnlyAdmin(PlatformOnlyMixin, ScopedModelAdmin):
    pass


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
    fields = [
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
    ]
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
            verification_target_unlock(target=target)
        self.message_user(request, _("ロックを解除しました。"), messages.SUCCESS)


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(PlatformOnlyMixin, OperatorScopedAdminMixin, DjangoGroupAdmin):
    """Django's group admin, scoped like the rest, for platform staff only."""


# The help centre feedback admin (platform staff only) lives beside the operator console.
from . import admin_help  # noqa: E402, F401
