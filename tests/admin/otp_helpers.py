"""What the tests of the admin's second factor share: its URLs, staff in a group, sign-in, tokens."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import OperatorFactory, StaffFactory

LOGIN = reverse("admin:login")
INDEX = reverse("admin:index")
SETUP = reverse("admin:otp_setup")
VERIFY = reverse("admin:otp_verify")
RECOVERY = reverse("admin:otp_recovery_codes")
# StaffFactory's password.
PASSWORD = "a-long-staff-password"
T0 = "2026-11-25 10:00:00+00:00"


def staff_in(group: str, operator=None, **kwargs):
    staff = StaffFactory(operator=operator or OperatorFactory(), **kwargs)
    staff.groups.set([Group.objects.get(name=group)])
    return staff


def sign_in(client: Client, staff, ip: str = "198.51.100.1"):
    """The password step, posted as the admin's sign-in form posts it."""
    return client.post(LOGIN, {"username": staff.username, "password": PASSWORD, "next": INDEX}, REMOTE_ADDR=ip)


def token_for(device: TOTPDevice) -> str:
    device.refresh_from_db()
    return f"{totp(device.bin_key):06d}"


def enrolled(staff) -> TOTPDevice:
    return TOTPDevice.objects.create(user=staff, name="admin", confirmed=True)
