from django.apps import AppConfig


class GeographiesConfig(AppConfig):
    name = "geographies"
    verbose_name = "Geographies"
