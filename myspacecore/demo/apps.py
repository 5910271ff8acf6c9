from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "myspacecore.demo"
    label = "demo"
    verbose_name = "Demo data"
