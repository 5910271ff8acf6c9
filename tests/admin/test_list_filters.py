"""List filters of the operator console when an operator has more properties than a sidebar holds."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.urls import reverse

from myspacecore.tenancy.scoped_admin import ScopedRelatedFieldListFilter
from tests.factories import PropertyFactory, UnitFactory

pytestmark = pytest.mark.django_db

UNITS = reverse("admin:tenancy_unit_changelist")
PROPERTIES = reverse("admin:tenancy_property_changelist")


def many_properties(operator, count: int = ScopedRelatedFieldListFilter.MAX_CHOICES + 1):
    return [PropertyFactory(operator=operator, name=f"A-ハイツ{n:03d}") for n in range(count)]


def test_a_few_properties_are_listed_in_the_filter(client, tenants):
    a, _b = tenants
    client.force_login(a.admin)
    page = client.get(UNITS).content.decode()
    assert "A-PROPERTY" in page
    assert "filter-related-list" not in page


def test_too_many_properties_give_a_link_to_the_property_list_instead(client, tenants):
    a, _b = tenants
    properties = many_properties(a.operator)
    client.force_login(a.admin)
    page = client.get(UNITS).content.decode()
    assert "A-ハイツ000" not in page and "A-ハイツ030" not in page
    assert f'<li class="filter-related-list"><a href="{PROPERTIES}">' in page

    # The property list links each property to its units; that list keeps the choice visible.
    chosen = properties[7]
    unit = UnitFactory(property=chosen, number="A-707")
    listing = client.get(PROPERTIES, {"q": chosen.name}).content.decode()
    units_link = f"{UNITS}?property__id__exact={chosen.pk}"
    assert units_link in listing
    filtered = client.get(units_link)
    assert filtered.status_code == HTTPStatus.OK
    assert list(filtered.context["cl"].result_list) == [unit]
    content = filtered.content.decode()
    assert chosen.name in content and properties[8].name not in content


def test_the_capped_filter_never_offers_another_operators_property(client, tenants):
    a, b = tenants
    many_properties(a.operator)
    other = PropertyFactory(operator=b.operator, name="B-PROPERTY ほか")
    client.force_login(a.admin)
    response = client.get(UNITS, {"property__id__exact": other.pk})
    assert "B-PROPERTY ほか" not in response.content.decode()
    assert list(response.context["cl"].result_list) == []


def test_a_malformed_choice_is_no_server_error(client, tenants):
    a, _b = tenants
    many_properties(a.operator)
    client.force_login(a.admin)
    assert client.get(UNITS, {"property__id__exact": "x"}).status_code in (HTTPStatus.OK, HTTPStatus.FOUND)
