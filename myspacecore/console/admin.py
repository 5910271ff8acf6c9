"""The console's own pages: the roster (operators, properties, units, leases, with the
CSV import and export and move-out now), the audit log and the staff groups.

They live here rather than in tenancy because they span rooms: move-out now resets a
unit's smart-home settings. Every ModelAdmin builds on `ScopedModelAdmin`
(myspacecore.tenancy.scoped_admin); the state changes go through services, which write
the audit rows.

Searches on the large tables are `__exact` on an indexed column (phone number, unit
number): `=field` would be `iexact`, an UPPER() that no index serves.
"""

from __future__ import annotations

import csv
import datetime
from http import HTTPStatus
from typing import TYPE_CHECKING

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, npgettext

from myspacecore.console.forms import LeaseForm, LeaseImportConfirmForm, LeaseImportForm
from myspacecore.core.masking import PHONE_KEPT_DIGITS
from myspacecore.core.typed_text import typed_compact
from myspacecore.tenancy.models import AuditLogEntry, Lease, Operator, Property, Unit
from myspacecore.tenancy.scoped_admin import (
    OperatorScopedAdminMixin,
    PlatformOnlyMixin,
    ReadOnlyAdminMixin,
    ScopedModelAdmin,
    acting_staff,
    phone_search_term,
)
from myspacecore.tenancy.scoping import operator_scope
from myspacecore.tenancy.services.roster import MAX_BYTES as ROSTER_MAX_BYTES
from myspacecore.tenancy.services.roster import (
    LeaseImportResult,
    lease_import,
    lease_import_preview,
    roster_csv_decode,
    roster_csv_rows,
    roster_upload_keep,
    roster_upload_take,
)
from smarthome.services import unit_move_out_now

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class _Echo:
    """A file-like object whose write returns the line, for csv.writer on a streaming response."""

    def write(self, value: str) -> str:
        return value


def _prepend(first, rest):
    yield first
    yield from rest


def _import_message(result: LeaseImportResult) -> str:
    """The success message of an import, with its counts."""
    created = npgettext("lease import", "追加 %(count)d件", "追加 %(count)d件", result.created) % {
        "count": result.created
    }
    updated = npgettext("lease import", "更新 %(count)d件", "更新 %(count)d件", result.updated) % {
        "count": result.updated
    }
    units = npgettext("lease import", "新しい住戸 %(count)d件", "新しい住戸 %(count)d件", result.units_created) % {
        "count": result.units_created
    }
    # Translators: created, updated and units are the counts above, e.g. "3 leases added".
    return _("取り込みました: %(created)s、%(updated)s、%(units)s。") % {
        "created": created,
        "updated": updated,
        "units": units,
    }


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
        return {"operator": acting_staff(request).operator_id, **super().get_changeform_initial_data(request)}

    @admin.display(description=_("この物件の一覧"))
    def lists_of_property(self, obj: Property) -> str:
        """Links to the units and leases of this property: how an operator with too many
        properties for a list filter's sidebar narrows those lists (ScopedRelatedFieldListFilter)."""
        lists = [
            (Unit, "admin:tenancy_unit_changelist", "property__id__exact"),
            (Lease, "admin:tenancy_lease_changelist", "unit__property__id__exact"),
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
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/tenancy/unit/move_out_confirm.html", context)
        result = unit_move_out_now(unit=unit, acting_user=acting_staff(request))
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
    form = LeaseForm
    # Whether the resident accepted next to the number it names: the first thing an operator checks.
    list_display = ["unit", "phone_number", "acceptance", "status_display", "attribute", "start_date", "end_date"]
    list_select_related = ["unit__property", "attribute"]
    list_filter = [LeaseStatusFilter, "acceptance", "attribute", "unit__property"]
    search_fields = ["phone_number__exact"]
    autocomplete_fields = ["unit"]
    # The resident's answer is theirs to give: the console shows it and never sets it.
    readonly_fields = ["acceptance", "answered_at", "resident", "created_at"]
    fields = [
        "unit",
        "phone_number",
        "attribute",
        "start_date",
        "end_date",
        "acceptance",
        "answered_at",
        "resident",
        "created_at",
    ]
    change_list_template = "admin/tenancy/lease/change_list.html"

    def get_queryset(self, request: HttpRequest):
        # ChangeList skips list_select_related once the queryset has a select_related.
        return super().get_queryset(request).select_related(*self.list_select_related)

    def get_search_results(self, request: HttpRequest, queryset, search_term: str):
        return super().get_search_results(request, queryset, phone_search_term(search_term))

    @admin.display(description=_("契約状況"))
    def status_display(self, obj: Lease) -> StrOrPromise:
        return obj.status().label

    def get_urls(self):
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name="tenancy_lease_import"),
            path("export/", self.admin_site.admin_view(self.export_view), name="tenancy_lease_export"),
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
        """Upload → preview (every row checked, nothing written, the file kept server-side)
        → confirm with the preview's token (every row imported, or none)."""
        if not self._may_import(request):
            raise PermissionDenied
        if request.method != "POST":
            return self._import_page(request, {"form": LeaseImportForm(user=request.user)})
        if "token" in request.POST:
            return self._import_confirm(request)
        return self._import_preview(request)

    def _import_page(self, request: HttpRequest, context: dict, status: HTTPStatus = HTTPStatus.OK):
        context = {
            **self.admin_site.each_context(request),
            "title": _("入居契約のCSV取り込み"),
            "opts": self.model._meta,
            **context,
        }
        return TemplateResponse(request, "admin/tenancy/lease/import.html", context, status=status)

    def _import_preview(self, request: HttpRequest):
        """Check the upload; a clean preview keeps the file server-side and offers its token to confirm."""
        form = LeaseImportForm(request.POST, request.FILES, user=request.user)
        if not form.is_valid():
            return self._import_page(request, {"form": form}, HTTPStatus.BAD_REQUEST)
        staff = acting_staff(request)
        # The form asks for the operator when the staff member has none of their own.
        operator = form.cleaned_data.get("operator") or staff.operator
        if operator is None:
            raise PermissionDenied
        try:
            # One byte over the limit is enough to refuse it; never read a huge upload whole.
            content = roster_csv_decode(form.cleaned_data["file"].read(ROSTER_MAX_BYTES + 1))
        except ValidationError as error:
            form.add_error("file", error)
            return self._import_page(request, {"form": form}, HTTPStatus.BAD_REQUEST)
        create_units = form.cleaned_data["create_units"]
        plan = lease_import_preview(operator=operator, content=content, create_units=create_units)
        if not plan.is_valid:
            return self._import_page(request, {"form": form, "plan": plan}, HTTPStatus.BAD_REQUEST)
        token = roster_upload_keep(user=staff, operator=operator, content=content, create_units=create_units)
        confirm_form = LeaseImportConfirmForm(initial={"token": token})
        return self._import_page(request, {"form": form, "plan": plan, "confirm_form": confirm_form})

    def _import_confirm(self, request: HttpRequest):
        """Import the file the preview kept for this staff member, once; 404 for an operator out of their scope."""
        confirm_form = LeaseImportConfirmForm(request.POST)
        # A malformed token was never issued: refused as an expired one is.
        token = confirm_form.cleaned_data["token"] if confirm_form.is_valid() else ""
        staff = acting_staff(request)
        try:
            upload = roster_upload_take(user=staff, token=token)
            operator = self._import_operator(request, upload.operator_id)
            result = lease_import(
                operator=operator, content=upload.content, acting_user=staff, create_units=upload.create_units
            )
        except ValidationError as error:
            context = {"form": LeaseImportForm(user=request.user), "import_errors": error.messages}
            return self._import_page(request, context, HTTPStatus.BAD_REQUEST)
        self.message_user(request, _import_message(result), messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:tenancy_lease_changelist"))

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


# The audit log
# ------------------------------------------------------------------------------


def audit_search_q(term: str) -> Q:
    """What staff type to find a row: the target's id (`12`, `#12`), a phone number in full or
    its last 4 digits (all a mask keeps: `+81******5678`), or part of the target's name."""
    text = term.strip()
    compact = typed_compact(text).removeprefix("#")
    query = Q(target_label__icontains=text)
    if compact.isascii() and compact.isdigit():
        query |= Q(target_id=compact)
    number = compact.removeprefix("+")
    if number.isascii() and number.isdigit() and (len(number) == PHONE_KEPT_DIGITS or len(number) >= 10):
        # The masked value ends in the digits, right after the stars that hide the rest.
        suffix = "*" + number[-PHONE_KEPT_DIGITS:]
        query |= Q(target_label__contains=suffix) | Q(old_value__contains=suffix) | Q(new_value__contains=suffix)
    return query


class AuditTargetTypeFilter(admin.SimpleListFilter):
    """The target's model, among those the console shows this user (no query: the site's models)."""

    title = _("対象の種類")
    parameter_name = "target_type"

    def lookups(self, request, model_admin):
        registry = model_admin.admin_site._registry.items()
        models = {
            model._meta.concrete_model or model for model, admin_ in registry if admin_.has_view_permission(request)
        }
        return sorted(
            ((model._meta.label_lower, model._meta.verbose_name) for model in models), key=lambda c: str(c[1])
        )

    def queryset(self, request, queryset):
        return queryset.filter(target_type=self.value()) if self.value() else queryset


class CreatedDateRangeFilter(admin.ListFilter):
    """From / to dates (both included, in local time), typed in the sidebar.

    Instead of a date hierarchy: its list of months is a DISTINCT over every row in scope,
    0.3 s at 300,000 rows on PostgreSQL, where a range is one indexed WHERE. A date that
    cannot be read is said next to its field, kept as typed, and filters nothing.
    """

    title = _("期間")
    template = "admin/tenancy/auditlogentry/filter_date_range.html"
    FROM, TO = "created_from", "created_to"

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        self.dates: dict[str, datetime.date | None] = {}
        self.errors: dict[str, StrOrPromise] = {}
        for name in (self.FROM, self.TO):
            typed = params.pop(name, [""])[-1].strip()
            self.used_parameters[name] = typed
            self.dates[name] = self._date(name, typed)
        start, end = self.dates[self.FROM], self.dates[self.TO]
        if start and end and start > end:
            self.errors[self.TO] = _("終了日は開始日と同じ日か、それより後にしてください。")

    def _date(self, name: str, typed: str) -> datetime.date | None:
        if not typed:
            return None
        try:
            return datetime.date.fromisoformat(typed_compact(typed).replace("/", "-"))
        except ValueError:
            self.errors[name] = _("日付は 2026-11-30 のように入力してください。")
            return None

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str | None]:
        return [self.FROM, self.TO]

    def choices(self, changelist):
        # One "choice": the form, with the list's other parameters kept as hidden fields.
        kept = {key: value for key, value in changelist.params.items() if key not in (self.FROM, self.TO)}
        yield {"kept": kept, **self.used_parameters}

    def queryset(self, request, queryset):
        if self.errors:
            return queryset
        start, end = self.dates[self.FROM], self.dates[self.TO]
        zone = timezone.get_current_timezone()
        if start:
            queryset = queryset.filter(created_at__gte=datetime.datetime.combine(start, datetime.time.min, zone))
        if end:
            next_day = end + datetime.timedelta(days=1)
            queryset = queryset.filter(created_at__lt=datetime.datetime.combine(next_day, datetime.time.min, zone))
        return queryset


@admin.register(AuditLogEntry)
class AuditLogEntryAdmin(ReadOnlyAdminMixin, ScopedModelAdmin):
    fields = (
        "created_at",
        "actor_label",
        "action",
        "target_label",
        "target_type",
        "target_id",
        "old_value",
        "new_value",
        "operator",
    )
    readonly_fields = fields
    list_display = ("created_at", "actor_label", "action", "target_label", "target_id", "old_value", "new_value")
    list_select_related = ["operator"]
    list_filter = ["action", AuditTargetTypeFilter, ("created_at", admin.DateFieldListFilter), CreatedDateRangeFilter]
    # The search box needs a field; get_search_results says what it really looks in.
    search_fields = ["target_label"]
    search_help_text = _("対象のID（12 や #12）、電話番号（全桁または末尾4桁）、対象の名前で検索できます。")

    def get_list_display(self, request: HttpRequest):
        # Platform staff see every operator's rows: say whose each one is.
        shown = super().get_list_display(request)
        return [*shown, "operator"] if request.user.is_superuser else shown

    def get_search_results(self, request: HttpRequest, queryset, search_term: str):
        # Scoped by the base (an empty term searches nothing), then narrowed by what was typed.
        queryset, may_have_duplicates = super().get_search_results(request, queryset, "")
        if search_term.strip():
            queryset = queryset.filter(audit_search_q(search_term))
        return queryset, may_have_duplicates


# Platform staff only: the staff groups
# ------------------------------------------------------------------------------


admin.site.unregister(Group)


# django-stubs types GroupAdmin.formfield_for_manytomany's request as optional; Django always
# passes one, and the scoping mixin must not accept None (unscoped choices).
@admin.register(Group)
class GroupAdmin(PlatformOnlyMixin, OperatorScopedAdminMixin, DjangoGroupAdmin):  # type: ignore[misc]
    """Django's group admin, scoped like the rest, for platform staff only."""
