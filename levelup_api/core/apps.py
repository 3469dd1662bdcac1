from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "levelup_api.core"
    label = "core"
    verbose_name = "Ingest runs and shared plumbing"

    def ready(self) -> None:
        # Graphene needs to know how to expose geometry columns.
        # drf-spectacular finds extensions by import: the API-key security scheme.
        from . import (
            graphql_converters,  # noqa: F401
            openapi,  # noqa: F401
        )
