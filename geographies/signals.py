"""What geographies announces to the apps built on it (missions' profile facts), so that it never
imports them: sent inside the transaction of the change."""

from django.dispatch import Signal

# The hierarchy (ancestors, memberships, links) was rebuilt: anything read through it may change.
hierarchy_changed = Signal()
