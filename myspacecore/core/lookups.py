"""Lookups our queries use as expressions (`filter(AnyOf(F("pk"), ids))`, Django's documented
way to filter on a lookup object without registering it on every field)."""

from __future__ import annotations

from django.core.exceptions import EmptyResultSet
from django.db.models.lookups import In


class AnyOf(In):
    """`IN`, written `= ANY(%s)` on PostgreSQL: one array parameter whatever the number of values,
    so a batch of a few hundred ids costs one parameter to adapt and send, not a few hundred (a
    gateway's batch of reports spent more time building `IN (…)` than PostgreSQL spent running
    it). Elsewhere (SQLite in the unit tests) it is the plain `IN`."""

    lookup_name = "any_of"

    def as_postgresql(self, compiler, connection):
        if self.rhs_is_direct_value():
            values = [value for value in self.rhs if value is not None]
            if not values:
                raise EmptyResultSet
            lhs, lhs_params = self.process_lhs(compiler, connection)
            return f"{lhs} = ANY(%s)", (*lhs_params, values)
        return super().as_sql(compiler, connection)
