from django.apps import AppConfig


class ResearchConfig(AppConfig):
    """The researcher's workbench: configure, pilot, watch, export and analyse studies. It reads
    ``study``'s models and owns none, so it has no migrations."""

    name = "research"
    label = "research"
    verbose_name = "Researcher's workbench"
