"""A study's whole configuration as one JSON document: to move it to another installation exactly, or to
start a new study from an old one. Participants and their data never travel with it."""
from __future__ import annotations

from django.db import transaction

from recommender.models import Catalog
from study.models import Condition, Item, Study, StudyTranslation, new_seed
from study.services.journey import FlowError

FORMAT = "resonance-study"
VERSION = 1
#: Not configuration: identity, bookkeeping, and the state (a copy starts as a draft).
_STUDY_SKIP = {"id", "catalog", "created_at", "state", "assignments_made"}


def _fields(obj, skip: set[str]) -> dict:
    return {f.name: f.value_from_object(obj) for f in obj._meta.concrete_fields if f.name not in skip}


def study_to_config(study: Study) -> dict:
    """Everything that defines the study: its settings, catalog (by slug), conditions, items and texts."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "study": {**_fields(study, _STUDY_SKIP), "catalog": study.catalog.slug},
        "conditions": [_fields(c, {"id", "study"}) for c in study.conditions.order_by("pk")],
        "items": [_fields(i, {"id", "study"}) for i in study.items.order_by("section", "order", "pk")],
        "translations": [_fields(t, {"id", "study"}) for t in study.translations.order_by("language")],
    }


def study_from_config(config: dict, *, slug: str | None = None, catalog: Catalog | None = None,
                      fresh_seed: bool = False) -> Study:
    """Create the study a configuration describes, as a draft; ``slug``/``catalog`` override its own.

    Refused with a clear FlowError: another format or version, a slug in use, an unknown catalog, or a
    condition whose recommender cannot explain itself as asked.
    """
    if config.get("format") != FORMAT or config.get("version") != VERSION:
        raise FlowError(f"Not a Resonance study configuration (format {FORMAT!r}, version {VERSION}).")
    fields = dict(config["study"])
    fields["slug"] = slug or fields["slug"]
    catalog_slug = fields.pop("catalog")
    catalog = catalog or Catalog.objects.filter(slug=catalog_slug).first()
    if catalog is None:
        raise FlowError(f"No catalog {catalog_slug!r} here: import it first, or name another one.")
    if Study.objects.filter(slug=fields["slug"]).exists():
        raise FlowError(f"A study {fields['slug']!r} exists already; give the copy another slug.")
    if fresh_seed:
        fields["randomisation_seed"] = new_seed()
    with transaction.atomic():
        study = Study.objects.create(catalog=catalog, state=Study.State.DRAFT, **fields)
        for values in config["conditions"]:
            condition = Condition(study=study, **values)
            try:
                condition.full_clean(exclude=["study"])
            except Exception as error:  # ValidationError: name the condition
                raise FlowError(f"Condition {values.get('slug')!r}: {error}") from error
            condition.save()
        Item.objects.bulk_create(Item(study=study, **values) for values in config["items"])
        StudyTranslation.objects.bulk_create(StudyTranslation(study=study, **values) for values in config["translations"])
    return study


def study_duplicate(*, study: Study, slug: str) -> Study:
    """A new draft study configured like ``study``, with its own randomisation seed and no participants."""
    return study_from_config(study_to_config(study), slug=slug, catalog=study.catalog, fresh_seed=True)
