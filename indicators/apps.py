from django.apps import AppConfig


class IndicatorsConfig(AppConfig):
    name = "indicators"
    verbose_name = "Indicators"

    def ready(self):
        # The current releases are read with the data version (indicators.current registers itself
        # in levelup_api.core.caching.VERSION_COMPANIONS on import): before the first read of it.
        from . import current  # noqa: F401
