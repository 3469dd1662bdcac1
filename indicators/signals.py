"""What indicators announces to the apps built on its data (missions' profile facts), so that it
never imports them: sent inside the transaction of the change, so a receiver's writes commit or
roll back with it."""

from django.dispatch import Signal

# Current observations or the metadata that reads them changed: `indicator_ids` (a list of ids).
indicators_changed = Signal()
