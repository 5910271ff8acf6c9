from django.urls import path

from . import views

app_name = "help"

# Open to everyone (the profile middleware lets /help/ through).
urlpatterns = [
    path("help/", views.help_index, name="index"),
    path("help/<slug:slug>/", views.help_topic, name="topic"),
    path("help/<slug:slug>/feedback/", views.help_feedback, name="feedback"),
]
