from django.apps import AppConfig
from django.db.backends.signals import connection_created


def _prepare_point_lookup(sender, connection, **kwargs):
    from .selectors import point_lookup_prepare

    if connection.vendor == "postgresql":
        point_lookup_prepare(connection)


class GeographiesConfig(AppConfig):
    name = "geographies"
    verbose_name = "Geographies"

    def ready(self) -> None:
        # Every connection plans prepared statements (the point lookup's) once (see selectors).
        connection_created.connect(_prepare_point_lookup, dispatch_uid="geographies.prepare_point_lookup")
