"""Liveness and readiness for load balancers and orchestrators (outside /api/: no quota, no cache)."""

from django.db import DatabaseError, connection
from django.http import JsonResponse


def healthz(request):
    """The process answers."""
    return JsonResponse({"status": "ok"})


def readyz(request):
    """The database and PostGIS answer."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT version(), postgis_lib_version()")
            postgres, postgis = cursor.fetchone()
    except DatabaseError as exc:
        return JsonResponse({"status": "unavailable", "reason": str(exc).splitlines()[0]}, status=503)
    return JsonResponse({"status": "ready", "postgresql": postgres.split(" on ")[0], "postgis": postgis})
