"""Setting studies up: creating one with its conditions and questionnaire, and rendering its figures ahead."""
from __future__ import annotations

from django.conf import settings
from django.db import transaction

from explanations.services import explanations_prerender
from recommender import services as recommender_services
from recommender.models import Catalog
from study.models import Condition, Item, Study, StudyTranslation
from study.questionnaires import default_items
from study.services.journey import FlowError


def study_create(
    *, slug: str, title: str, catalog: Catalog, conditions: list[tuple], consent_text: str,
    scales: list[str] | None = None, translations: dict[str, dict] | None = None, **options,
) -> Study:
    """A study with its conditions ((slug, name, explanation[, weight])), the chosen questionnaire scales,
    and its own texts in other languages ({"de": {"title": ..., "consent_text": ...}})."""
    items = default_items(scales)
    with transaction.atomic():
        study = Study.objects.create(slug=slug, title=title, catalog=catalog, consent_text=consent_text, **options)
        for condition_slug, name, explanation, *weight in conditions:
            Condition.objects.create(
                study=study, slug=condition_slug, name=name, explanation=explanation, weight=weight[0] if weight else 1
            )
        Item.objects.bulk_create(Item(study=study, **fields) for fields in items)
        for language, texts in (translations or {}).items():
            StudyTranslation.objects.create(study=study, language=language, **texts)
    return study


def study_index(study: Study):
    index = recommender_services.catalog_latest_index(study.catalog)
    if index is None:
        raise FlowError(f"Catalog {study.catalog.slug!r} has no similarity index yet; analyse it first.")
    return index


def study_prerender_explanations(*, study: Study) -> int:
    """Render ahead of time every explanation this study's conditions can show, in every language."""
    index = study_index(study)
    kinds = sorted({kind for condition in study.conditions.filter(is_active=True) for kind in condition.explanation_kinds})
    return explanations_prerender(
        index=index, kinds=kinds, per_seed=study.n_recommendations + study.max_liked,
        languages=[code for code, _ in settings.LANGUAGES],
    )
