from django.apps import AppConfig


class MissionsConfig(AppConfig):
    name = "missions"
    verbose_name = "Levelling Up missions"

    def ready(self):
        # The profile facts follow every change to what they are computed from, in its transaction.
        from geographies.signals import hierarchy_changed
        from indicators.signals import indicators_changed

        from .profile_facts import profile_facts_rebuild

        def indicators_moved(sender, indicator_ids, **kwargs):
            profile_facts_rebuild(indicator_ids=list(indicator_ids))

        def hierarchy_moved(sender, **kwargs):
            profile_facts_rebuild()

        indicators_changed.connect(indicators_moved, dispatch_uid="profile-facts-indicators", weak=False)
        hierarchy_changed.connect(hierarchy_moved, dispatch_uid="profile-facts-hierarchy", weak=False)
