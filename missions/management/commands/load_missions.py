"""python manage.py load_missions: the 12 missions, their metrics and targets, from fixtures/missions/."""

from django.core.management.base import BaseCommand, CommandError

from missions.services import MissionsFixtureError, missions_load


class Command(BaseCommand):
    help = "Load the Levelling Up missions fixture (after load_indicators). Rerunning keeps curators' edits."

    def handle(self, *args, **options):
        try:
            counts = missions_load()
        except MissionsFixtureError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS("Missions: " + ", ".join(f"{k}={v}" for k, v in counts.items())))
