"""allauth's URLs (login by code: /accounts/login/code/ then /accounts/login/code/confirm/)."""

from django.urls import include, path

urlpatterns = [
    path("accounts/", include("allauth.urls")),
]
