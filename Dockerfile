# The API under gunicorn, with GDAL/GEOS/PROJ for GeoDjango.
FROM python:3.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends gdal-bin libgdal32 libgeos-c1v5 libproj25 postgresql-client make \
    nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt requirements-dev.txt ./
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
ENV DJANGO_SETTINGS_MODULE=levelup_api.settings.base \
    LEVELUP_DATA_DIR=/data \
    PYTHONUNBUFFERED=1
# The pages' JavaScript from the npm registry, pinned (GraphiQL at graphene-django's versions, SRI-checked;
# MapLibre GL JS from explorer/vendor/package-lock.json), then collected: served by the app, no CDN.
RUN python manage.py vendor_graphiql \
 && make explorer-vendor \
 && python manage.py collectstatic --noinput -v0
EXPOSE 8000
CMD ["sh", "-c", "python manage.py migrate --noinput && python manage.py load_geographies && python manage.py load_indicators && python manage.py load_missions && exec gunicorn levelup_api.wsgi --bind 0.0.0.0:8000 --workers 3 --limit-request-line 8190 --access-logfile -"]
