"""Liveness and readiness for load balancers and orchestrators (outside /api/: no quota, no cache)."""

import logging

from django.db import DatabaseError, connection
from django.http import JsonResponse

log = logging.getLogger(__name__)


def healthz(request):
    """The process answers."""
    return JsonResponse({"status": "ok"})


def readyz(request):
    """The database and PostGIS answer."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT version(), postgis_lib_version()")
            postgres, postgis = cursor.fetchone()
    except DatabaseError:
        # The driver's message (host, port, role) is for the log, not for whoever asks.
        log.exception("readiness check: the database did not answer")
        return JsonResponse({"status": "unavailable", "error": "unavailable",
                             "message": "The database or PostGIS does not answer."}, status=503)
    return JsonResponse({"status": "ready", "postgresql": postgres.split(" on ")[0], "postgis": postgis})
