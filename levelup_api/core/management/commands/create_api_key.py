"""python manage.py create_api_key NAME [--tier standard|partner]: prints the key once."""

from django.core.management.base import BaseCommand

from levelup_api.core.models import ApiKey
from levelup_api.core.quotas import api_key_make


class Command(BaseCommand):
    help = "Make an API key for higher read quotas; the key is printed once and only its hash is kept."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--tier", choices=ApiKey.Tier.values, default=ApiKey.Tier.STANDARD)

    def handle(self, *args, name, tier, **options):
        key, secret = api_key_make(name=name, tier=tier)
        self.stdout.write(secret)
