"""Operator scoping of the admin: which rows a staff account may see, and the one mixin that enforces it.

Every model the console shows has one rule here (`SCOPE_RULES`): a function from an
operator id to the `Q` of that operator's rows. `OperatorScopedAdminMixin` applies the
rule of the admin's own model (lists, object pages, history, actions, search,
autocomplete, raw-id popups) and the rule of each *related* model (foreign-key choices,
many-to-many choices, list-filter choices). Platform staff (superusers) see everything;
a staff account without an operator, or a model without a rule, shows nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from django.apps import apps
from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path
from django.core.paginator import Paginator
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property

OPERATOR_ADMIN_GROUP = "operator_admin"
OPERATOR_STAFF_GROUP = "operator_staff"
OPERATOR_GROUPS = (OPERATOR_ADMIN_GROUP, OPERATOR_STAFF_GROUP)

NOTHING = Q(pk__in=[])


# Rules follow the row's foreign keys with joins and test residency with EXISTS on the
# lease's indexed `resident_id`, so a changelist page (ORDER BY -pk LIMIT 100) walks the
# primary-key index and stops at the page size instead of materialising every row of a
# large operator first. PostgreSQL may still hash the residency test once per query (the
# operator's current leases: ~100 ms for 100,000) when a page meets residents' own
# devices; numbers in bench/admin_scale.py.


def _current_leases(operator_id: int) -> models.QuerySet:
    """The operator's current and future leases. A past lease does not make a resident:
    after moving out, their phone number and sessions are no longer that operator's business."""
    Lease = apps.get_model("accounts", "Lease")
    return Lease.objects.filter(unit__property__operator_id=operator_id).filter(
        Q(end_date__isnull=True) | Q(end_date__gte=timezone.localdate())
    )


def _is_resident(operator_id: int, ref: str) -> Exists:
    """The account in column `ref` is on a current or future lease of the operator."""
    return Exists(_current_leases(operator_id).filter(resident_id=OuterRef(ref)))


def _residents(operator_id: int) -> Q:
    return Q(_is_resident(operator_id, "pk"))


def _staff(operator_id: int) -> Q:
    return Q(operator_id=operator_id, is_staff=True, is_superuser=False)


def _devices(prefix: str = "") -> Callable[[int], Q]:
    """A device is the operator's through its unit, or through its owner's lease."""

    def rule(operator_id: int) -> Q:
        return Q(**{f"{prefix}unit__property__operator_id": operator_id}) | (
            Q(**{f"{prefix}owner_user__isnull": False}) & Q(_is_resident(operator_id, f"{prefix}owner_user_id"))
        )

    return rule


# "app_label.ModelName" → operator id → Q of that operator's rows.
SCOPE_RULES: dict[str, Callable[[int], Q]] = {
    "accounts.Operator": lambda op: Q(pk=op),
    "accounts.Property": lambda op: Q(operator_id=op),
    "accounts.Unit": lambda op: Q(property__operator_id=op),
    "accounts.Lease": lambda op: Q(unit__property__operator_id=op),
    # Attributes are policy, not tenant data: every operator chooses among all of them.
    "accounts.UserAttribute": lambda op: Q(),
    "accounts.User": lambda op: _residents(op) | _staff(op),
    "accounts.ResidentAccount": lambda op: _residents(op) & Q(phone_number__isnull=False),
    "accounts.StaffAccount": _staff,
    "accounts.AuditLogEntry": lambda op: Q(operator_id=op),
    "auth.Group": lambda op: Q(name__in=OPERATOR_GROUPS),
    "smarthome.Device": _devices(),
    "smarthome.RemoteControlSetting": _devices("device__"),
    "smarthome.PinCode": _devices("device__"),
}


def operator_scope_q(model: type[models.Model], user) -> Q:
    """The rows of `model` that `user` may see in the admin, as a Q (never raises)."""
    if not (user.is_active and user.is_staff):
        return NOTHING
    if user.is_superuser:
        return Q()
    if user.operator_id is None:
        return NOTHING
    rule = SCOPE_RULES.get(model._meta.label)
    return rule(user.operator_id) if rule is not None else NOTHING


# Set on the Query (clones copy it) of a queryset already narrowed for a user, so a
# second pass (get_search_results after get_queryset) does not filter twice. Admins
# narrow with .filter() only; OR-ing another queryset into a marked one would keep the
# mark, so none of ours does.
_SCOPED_FOR = "_operator_scoped_for"


def operator_scope(queryset: models.QuerySet, user) -> models.QuerySet:
    """`queryset` narrowed to what `user` may see (once: a queryset already narrowed is returned as is)."""
    if getattr(queryset.query, _SCOPED_FOR, None) == user.pk:
        return queryset
    scoped = queryset.filter(operator_scope_q(queryset.model, user))
    setattr(scoped.query, _SCOPED_FOR, user.pk)
    return scoped


# Counting more rows than this per page view costs more than the number tells anyone.
COUNT_CAP = 1_000


class CappedCountPaginator(Paginator):
    """Counts at most COUNT_CAP + 1 rows: a list of a million rows pages as fast as one of a hundred.

    Beyond the cap the pager offers the first COUNT_CAP rows; search and filters narrow the rest.
    """

    @cached_property
    def count(self) -> int:
        return self.object_list[: COUNT_CAP + 1].count()


class ScopedRelatedFieldListFilter(admin.RelatedFieldListFilter):
    """A related-field list filter offering only the choices the user may see, as many as a
    sidebar can hold.

    An operator with hundreds of properties would find every one of them in the sidebar (and
    platform staff every property of every operator). Beyond `MAX_CHOICES` the filter offers
    the chosen one, if any, and a link to the related model's list, whose search finds the
    one wanted (its rows link back to the lists filtered on them, see PropertyAdmin).
    """

    MAX_CHOICES = 30
    template = "admin/filter_capped.html"

    def field_choices(self, field, request, model_admin):
        visible = field.related_model._default_manager.filter(operator_scope_q(field.related_model, request.user))
        ordering = self.field_admin_ordering(field, request, model_admin)
        if ordering:
            visible = visible.order_by(*ordering)
        # One query, as Django's own filter makes, that also tells whether there are too many.
        shown = list(visible[: self.MAX_CHOICES + 1])
        self.related_list_url = None
        if len(shown) > self.MAX_CHOICES:
            self.related_list_url = _changelist_url(model_admin.admin_site, field.related_model)
            chosen = [value for value in self.lookup_val or [] if str(value).isdigit()]
            shown = list(visible.filter(pk__in=chosen)) if chosen else []
        value_of = field.target_field.attname
        return [(getattr(obj, value_of), str(obj)) for obj in shown]

    def has_output(self) -> bool:
        return self.related_list_url is not None or super().has_output()


def _changelist_url(site: admin.AdminSite, model: type[models.Model]) -> str | None:
    if not site.is_registered(model):
        return None
    return reverse(f"{site.name}:{model._meta.app_label}_{model._meta.model_name}_changelist")


class OperatorScopedAdminMixin:
    """Put first in the bases of every ModelAdmin of the site: it scopes everything it shows.

    Object pages (change, delete, history and the custom object views) answer 404 for
    a row outside the scope, the same as for a row that does not exist, so ids of
    another operator reveal nothing, not even that they exist.
    """

    operator_scoped = True
    # Counting every row of a large table on each page view costs more than it tells.
    show_full_result_count = False
    paginator = CappedCountPaginator
    # Facet counts are one COUNT per filter choice over the whole scoped table.
    show_facets = admin.ShowFacets.NEVER
    # Newest first along the primary-key index; a model's own ordering (by name) would
    # sort the whole scoped table for every page. Column headers still sort on demand.
    ordering = ["-pk"]

    def get_queryset(self, request: HttpRequest):
        return operator_scope(super().get_queryset(request), request.user)

    def get_object(self, request: HttpRequest, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404
        return obj

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        kwargs["queryset"] = self._scoped_choices(db_field, request, kwargs.get("queryset"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        kwargs["queryset"] = self._scoped_choices(db_field, request, kwargs.get("queryset"))
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def _scoped_choices(self, db_field, request, queryset):
        if queryset is None:
            queryset = self.get_field_queryset(None, db_field, request)
        if queryset is None:
            queryset = db_field.remote_field.model._default_manager.complex_filter(db_field.get_limit_choices_to())
        return operator_scope(queryset, request.user)

    def get_search_results(self, request: HttpRequest, queryset, search_term: str):
        # The autocomplete view passes the remote admin's queryset here: scope it again
        # so a search can never widen what get_queryset allowed.
        return super().get_search_results(request, operator_scope(queryset, request.user), search_term)

    def get_list_filter(self, request: HttpRequest):
        scoped = []
        for item in super().get_list_filter(request):
            if isinstance(item, str) and get_fields_from_path(self.model, item)[-1].is_relation:
                item = (item, ScopedRelatedFieldListFilter)
            scoped.append(item)
        return scoped

    # Staff of no operator hold no rows, so whatever groups they are in they may do nothing.
    def has_module_permission(self, request: HttpRequest) -> bool:
        return _in_scope(request.user) and super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return _in_scope(request.user) and super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest, *args) -> bool:
        return _in_scope(request.user) and super().has_add_permission(request, *args)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return _in_scope(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return _in_scope(request.user) and super().has_delete_permission(request, obj)


def _in_scope(user) -> bool:
    return user.is_active and user.is_staff and (user.is_superuser or user.operator_id is not None)


def user_is_operator_admin(user) -> bool:
    """Platform staff, or staff in the operator_admin group of an operator."""
    if user.is_superuser:
        return True
    return user.operator_id is not None and user.groups.filter(name=OPERATOR_ADMIN_GROUP).exists()
