"""factory_boy factories for the models tests need; the attributes come from the seed migration."""

from __future__ import annotations

import datetime

import factory
from django.utils import timezone

from accounts.models import Profile, User, UserAttribute
from myspacecore.tenancy.models import Lease, Operator, Property, Unit


def attribute(code: str) -> UserAttribute:
    return UserAttribute.objects.get(code=code)


class OperatorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Operator

    name = factory.Sequence(lambda n: f"管理会社{n}")
    contact_phone = "0120-000-000"
    contact_email = factory.Sequence(lambda n: f"support{n}@operator.example.jp")
    contact_hours = "平日 9:00〜18:00"


class PropertyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Property

    operator = factory.SubFactory(OperatorFactory)
    name = factory.Sequence(lambda n: f"メゾン{n}")


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Unit

    property = factory.SubFactory(PropertyFactory)
    number = factory.Sequence(lambda n: f"{100 + n}")


def phone_number(n: int) -> str:
    return f"+8190{12340000 + n:08d}"


class ResidentFactory(factory.django.DjangoModelFactory):
    """A resident account (phone number, no password); attribute `owner` unless told."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    phone_number = factory.Sequence(phone_number)
    attribute = factory.LazyFunction(lambda: attribute("owner"))
    password = factory.PostGenerationMethodCall("set_unusable_password")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class StaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    is_staff = True
    password = factory.PostGenerationMethodCall("set_password", "a-long-staff-password")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class ProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Profile

    user = factory.SubFactory(ResidentFactory)
    nickname = factory.Sequence(lambda n: f"住人{n}")
    birth_year = 1985
    gender = Profile.Gender.UNANSWERED
    email = None


class LeaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lease

    unit = factory.SubFactory(UnitFactory)
    phone_number = factory.Sequence(lambda n: phone_number(5000 + n))
    attribute = factory.LazyFunction(lambda: attribute("rental_resident"))
    start_date = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=30))
    end_date = None
    resident = None
    # A lease linked to an account is one its resident accepted (the only way a link is made).
    acceptance = factory.LazyAttribute(lambda o: Lease.Acceptance.ACCEPTED if o.resident else Lease.Acceptance.PENDING)
    answered_at = factory.LazyAttribute(lambda o: timezone.now() if o.resident else None)
