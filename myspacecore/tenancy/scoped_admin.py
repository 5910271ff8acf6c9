"""The admin side of tenancy: one ModelAdmin base that applies the scope rules everywhere.

`ScopedModelAdmin` (or `OperatorScopedAdminMixin` first in the bases) applies the rule of
the admin's own model (lists, object pages, history, actions, search, autocomplete, raw-id
popups) and the rule of each *related* model (foreign-key choices, many-to-many choices,
list-filter choices), as `myspacecore.tenancy.scoping` states them. Every room's admin.py
builds on it; a start-up check refuses an admin that does not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import models
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils.functional import cached_property
from phonenumber_field.phonenumber import PhoneNumber
from phonenumber_field.phonenumber import to_python as phone_to_python

from myspacecore.core.masking import mask_text
from myspacecore.tenancy.scoping import operator_scope, operator_scope_q, user_in_scope
from myspacecore.tenancy.services.audit import console_object_delete, console_object_save, console_objects_delete

if TYPE_CHECKING:
    from accounts.models import User

    # What the mixins below are mixed into, for the type checker: their `super()` calls and
    # `self.model` are ModelAdmin's. At run time they stay plain mixins.
    _ModelAdminBase = admin.ModelAdmin[Any]
else:
    _ModelAdminBase = object

# Counting more rows than this per page view costs more than the number tells anyone.
COUNT_CAP = 1_000


class CappedCountPaginator(Paginator):
    """Counts at most COUNT_CAP + 1 rows: a list of a million rows pages as fast as one of a hundred.

    Beyond the cap the pager offers the first COUNT_CAP rows; search and filters narrow the rest.
    """

    @cached_property
    def count(self) -> int:
        capped = self.object_list[: COUNT_CAP + 1]
        # The admin pages a QuerySet; anything else is counted as Django's Paginator does.
        return capped.count() if isinstance(capped, models.QuerySet) else len(capped)


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


def acting_staff(request: HttpRequest) -> User:
    """The staff member behind a console request, as the audit rows record them.

    The console's `admin_view` lets no anonymous request through; this says so to the
    type checker once, instead of every admin method casting `request.user`.
    """
    if not request.user.is_authenticated:
        raise PermissionDenied
    return request.user


def _object_repr_masked(logged):
    """Mask the names Django's admin just logged (one LogEntry or a list of them); returns them."""
    for entry in logged if isinstance(logged, list) else [logged]:
        masked = mask_text(entry.object_repr)
        if masked != entry.object_repr:
            entry.object_repr = masked
            entry.save(update_fields=["object_repr"])
    return logged


def _changelist_url(site: admin.AdminSite, model: type[models.Model]) -> str | None:
    if not site.is_registered(model):
        return None
    return reverse(f"{site.name}:{model._meta.app_label}_{model._meta.model_name}_changelist")


class OperatorScopedAdminMixin(_ModelAdminBase):
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

    # Every write of a console form goes through the audit service: one row per add, change
    # or deleted row, masked old → new. An admin whose save calls a service of its own
    # (staff accounts) overrides save_model and leaves the row to that service.
    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        many_to_many = {field.name for field in obj._meta.many_to_many}
        related = {name: value for name, value in form.cleaned_data.items() if name in many_to_many}
        console_object_save(obj=obj, acting_user=acting_staff(request), related=related)

    def delete_model(self, request: HttpRequest, obj) -> None:
        console_object_delete(obj=obj, acting_user=acting_staff(request))

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        console_objects_delete(queryset=queryset, acting_user=acting_staff(request))

    # Django's own history (LogEntry, the "history" page) keeps each written row's name: masked
    # as the audit rows are, so it is no copy of a number or an address in clear either.
    def log_addition(self, request: HttpRequest, obj, message):
        return _object_repr_masked(super().log_addition(request, obj, message))

    def log_change(self, request: HttpRequest, obj, message):
        return _object_repr_masked(super().log_change(request, obj, message))

    def log_deletions(self, request: HttpRequest, queryset):
        return _object_repr_masked(super().log_deletions(request, queryset))

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
        return user_in_scope(request.user) and super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return user_in_scope(request.user) and super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest, *args) -> bool:
        return user_in_scope(request.user) and super().has_add_permission(request, *args)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return user_in_scope(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return user_in_scope(request.user) and super().has_delete_permission(request, obj)


class ScopedModelAdmin(OperatorScopedAdminMixin, admin.ModelAdmin):
    pass


def phone_search_term(search_term: str) -> str:
    """`090-1234-5678` typed in a search box → `+819012345678`, the indexed E.164 column value."""
    phone = phone_to_python(search_term.strip(), region="JP")
    return phone.as_e164 if isinstance(phone, PhoneNumber) and phone.is_valid() else search_term


class ReadOnlyAdminMixin(_ModelAdminBase):
    """A record the console shows and never writes: no add, change or delete, for anyone."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class PlatformOnlyMixin(_ModelAdminBase):
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
