"""Setting studies up: creating one with its conditions and questionnaire, and rendering its figures ahead."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from explanations.services import explanations_done, explanations_send, pool_pairs
from recommender import quality
from recommender import services as recommender_services
from recommender.models import Catalog, SimilarityIndex, Track
from study.models import AuditEntry, Condition, Item, Study, StudyTranslation
from study.questionnaires import default_items
from study.services import study_recommender_index
from study.services.journey import FlowError


def study_create(
    *, slug: str, title: str, catalog: Catalog, conditions: list[tuple], consent_text: str,
    scales: list[str] | None = None, translations: dict[str, dict] | None = None, **options,
) -> Study:
    """A study with its conditions ((slug, name, explanation[, weight[, recommender]])), the chosen questionnaire
    scales, and its own texts in other languages ({"de": {"title": ..., "consent_text": ...}}).

    A condition whose recommender cannot explain itself the way asked (Condition.TRUTHFUL) is refused.
    """
    state = options.pop("state", Study.State.OPEN)
    with transaction.atomic():
        # Made as a draft (a study that has left draft takes no new rows: study/frozen.py), then given its state.
        study = Study.objects.create(slug=slug, title=title, catalog=catalog, consent_text=consent_text,
                                     state=Study.State.DRAFT, **options)
        for condition_slug, name, explanation, *rest in conditions:
            condition = Condition(
                study=study, slug=condition_slug, name=name, explanation=explanation,
                weight=rest[0] if rest else 1, recommender=rest[1] if len(rest) > 1 else Condition.Recommender.FEATURES,
            )
            condition.full_clean(exclude=["study"])
            condition.save()
        study_add_questionnaire(study=study, scales=scales)
        for language, texts in (translations or {}).items():
            StudyTranslation.objects.create(study=study, language=language, **texts)
        study.state = state
        study.save(update_fields=["state"])
    return study


def _loggable(value):
    if value is None or isinstance(value, bool | int | float | str | list | dict):
        return value
    return str(value)


def study_log_change(*, study: Study, actor: str, what: str, changes: dict[str, tuple]) -> AuditEntry | None:
    """Write a configuration change to the audit log: ``what`` changed (the study, or one of its items,
    conditions or texts), each field with its old and new value. Nothing changed: nothing written."""
    if not changes:
        return None
    return AuditEntry.objects.create(
        actor=actor[:200], action=AuditEntry.Action.CHANGE_STUDY, study=study,
        detail={"what": what, "changes": {name: [_loggable(old), _loggable(new)] for name, (old, new) in changes.items()}},
    )


def study_add_questionnaire(*, study: Study, scales: list[str] | dict[str, list[str]] | None = None) -> int:
    """Give a study without questions its questionnaire: the chosen published scales (study.questionnaires;
    None: the default ones), with the pre-questionnaire, the per-recommendation ratings and the checks that
    every study asks. A study that has items keeps them. Returns how many items were added."""
    if study.items.exists():
        return 0
    return len(Item.objects.bulk_create(Item(study=study, **fields) for fields in default_items(scales)))


def study_index(study: Study, recommender: str = Condition.Recommender.FEATURES):
    """The index ``recommender`` reads for this study's catalog; a clear error when it has none yet."""
    index = study_recommender_index(study, recommender)
    if index is None:
        raise FlowError(recommender_services.missing_index_message(study.catalog, recommender, vocabulary=study.tag_vocabulary))
    return index


def recommender_index_exists(catalog: Catalog, recommender: str, *, vocabulary: str = "mtt") -> bool:
    return recommender_services.recommender_index(catalog, recommender, vocabulary=vocabulary) is not None


class LaunchWarning(str):
    """One item of the launch checklist: what would hurt the study, and where it is fixed (an admin page's name
    and its label; the text itself names the command where a command fixes it)."""

    fix: tuple[str, str] | None = None

    def __new__(cls, text: str, fix: tuple[str, str] | None = None):
        warning = super().__new__(cls, text)
        warning.fix = fix
        return warning


#: Pools up to this size have their prerendered explanations counted on the study page.
PRERENDER_COUNTED_UP_TO = 5000
#: Similarities whose inter-quartile range over the catalog's pairs is below this tell pairs too little apart.
BUNCHED_IQR = 0.1
#: A tag among the three strongest of at least this share of the tracks says little about any one of them.
UNINFORMATIVE_TAG_SHARE = 0.8


def _not_prerendered(study: Study) -> list[str]:
    """Explanations participants' jobs would have to draw while they wait."""
    from study.services import study_pool

    if study_pool(study).count() > PRERENDER_COUNTED_UP_TO:
        return [LaunchWarning(
            f"This pool is too large to count its prerendered explanations on every page: run python manage.py "
            f"prerender_explanations {study.slug} before opening (it skips what is done, and says how much that was).",
            ("admin:study_study_changelist", "the study list"),
        )]
    try:
        batches = study_prerender_plan(study=study)
    except FlowError:  # an index missing: warned of on its own
        return []
    total = sum(batch.explanations for batch in batches)
    done = study_prerender_done(batches=batches) if total else 0
    if done >= total:
        return []
    return [LaunchWarning(
        f"{total - done} of {total} explanations are not prerendered: each participant's job would draw them while "
        f"they wait. Prepare the catalog (python manage.py prepare_catalog {study.catalog.slug} --study {study.slug}, "
        "or the study's page “Prepare the catalog”).", ("admin:study_study_prepare", "the catalog's preparation"),
    )]


def _bunched_scores(study: Study) -> list[str]:
    """A recommender whose similarities hardly differ between pairs: its numbers and explanations teach little."""
    problems = []
    recommenders = sorted(set(study.conditions.filter(is_active=True).values_list("recommender", flat=True)))
    for recommender in recommenders:
        index = study_recommender_index(study, recommender)
        if index is None:
            continue
        spread = quality.score_spread(recommender_services.load_index(index.pk).vectors)
        if spread is None:
            continue
        low, high = spread
        if high - low < BUNCHED_IQR:
            fix = (f"train it longer (python manage.py train_cnn {study.catalog.slug} --steps 1200, then embed_catalog)"
                   if recommender == Condition.Recommender.CNN else "check the catalog's analysis")
            problems.append(LaunchWarning(
                f"The {recommender} recommender's similarities bunch: half of this catalog's pairs score between "
                f"{low:.2f} and {high:.2f} (inter-quartile range {high - low:.2f}), so its scores, and the explanations "
                f"of them, tell pairs little apart. {fix[0].upper()}{fix[1:]}, and look at the gallery.",
                ("admin:study_study_gallery", "the gallery"),
            ))
    return problems


def _tag_vocabulary_fit(study: Study) -> list[str]:
    """The tagger's words on this catalog: one tag near the top for almost every track describes none of them."""
    from research.gallery import study_tag_vocabularies

    if not study.conditions.filter(is_active=True, recommender=Condition.Recommender.TAGGER).exists():
        return []
    chosen = next((v for v in study_tag_vocabularies(study=study, count=3) if v.chosen and v.usage), None)
    if chosen is None:
        return []
    top = chosen.usage[0]
    if top.top_share < UNINFORMATIVE_TAG_SHARE:
        return []
    return [LaunchWarning(
        f"The {chosen.name.split(':')[0]} tagger puts “{top.tag}” among the three strongest tags of {top.top_share:.0%} "
        "of this catalog's tracks: its tags say little about any one track here. Compare the vocabularies in the "
        "gallery and choose the one that describes this music (the study's tag vocabulary).",
        ("admin:study_study_gallery", "the gallery"),
    )]


def study_missing_indexes(study: Study) -> list[str]:
    """The recommenders of the study's active conditions that have no index on its catalog yet, each with how to
    build it."""
    return [
        LaunchWarning(
            recommender_services.missing_index_message(study.catalog, recommender, vocabulary=study.tag_vocabulary)
            + " Until then participants of those conditions would get no recommendations. Preparing the catalog "
            "builds every index.", ("admin:study_study_prepare", "the catalog's preparation"),
        )
        for recommender in sorted(set(study.conditions.filter(is_active=True).values_list("recommender", flat=True)))
        if not recommender_index_exists(study.catalog, recommender, vocabulary=study.tag_vocabulary)
    ]


def study_warnings(study: Study) -> list[str]:
    """The launch checklist: what would hurt a study if it went live now (missing questions, indexes or
    translations)."""
    problems = []
    if not study.items.filter(section__in=[Item.Section.RATING, Item.Section.QUESTIONNAIRE]).exists():
        problems.append("The study asks no questions: participants would finish without answering anything.")
    problems += study_missing_indexes(study)
    problems += _costly_explanations(study)
    problems += _not_prerendered(study)
    problems += _bunched_scores(study)
    problems += _tag_vocabulary_fit(study)
    problems += _small_pool_for_tests(study)
    problems += _underpowered(study)
    from study.models import Preregistration

    if study.state in (Study.State.DRAFT, Study.State.PILOT) and not Preregistration.objects.filter(study=study).exists():
        problems.append("No preregistration: name the primary outcome(s), the hypothesis and its direction under "
                        "'preregistration' before opening; opening the study freezes the plan.")
    have = {t.language for t in study.translations.all()}
    for code, name in settings.LANGUAGES[1:]:
        if code not in have:
            problems.append(f"No {name} texts: participants reading {name} would see the title, description and "
                            f"consent in {settings.LANGUAGES[0][1]}. Add them under 'texts in other languages'.")
    return problems


@dataclass(frozen=True)
class PrerenderBatch:
    """The explanations one recommender's index gives a study: ``kinds`` for each pair, in each language."""

    index: SimilarityIndex
    kinds: list[str]
    pairs: list[tuple[int, int]]
    languages: list[str]

    @property
    def explanations(self) -> int:
        return len(self.kinds) * len(self.pairs) * len(self.languages)


def _underpowered(study: Study) -> list[str]:
    """A target per condition below what the study's own power analyses ask for."""
    target = study.target_per_condition
    if not target or not study.conditions.filter(is_active=True).exists():
        return []
    problems = []
    scales = study_sample_size(study=study)
    if target < scales["per_condition"]:
        problems.append(
            f"The target of {target} participants per condition is below the {scales['per_condition']} the power "
            f"analysis asks for (d = {study.effect_size_d}, power {study.power}, alpha {scales['alpha_per_comparison']:.4g} "
            "per comparison): raise the target, or state a larger smallest effect of interest."
        )
    if study.simulation_trials:
        tests = study_simulation_sample_size(study=study)
        if target < tests["per_condition"]:
            problems.append(
                f"The target of {target} participants per condition is below the {tests['per_condition']} the "
                f"understanding tests need to detect post-test accuracy {tests['base']:.0%} vs "
                f"{tests['base'] + tests['difference']:.0%}."
            )
    return problems


def _small_pool_for_tests(study: Study) -> list[str]:
    """The understanding tests show every candidate once per participant, never a liked or recommended track."""
    from study.services import study_phases, study_pool

    tests = len(study_phases(study))
    if not tests:
        return []
    needed = 2 * study.simulation_trials * tests + study.max_liked + study.n_recommendations
    pool = study_pool(study).count()
    if pool >= needed:
        return []
    return [f"The understanding tests need {needed} tracks in the pool ({study.simulation_trials} trials x 2 "
            f"candidates x {tests} test(s), plus up to {study.max_liked} liked and {study.n_recommendations} "
            f"recommended), and it has {pool}: participants would get fewer trials than set. Lower the trials per "
            "test, or widen the pool."]


def _costly_explanations(study: Study) -> list[str]:
    """What an explanation costly by nature takes to prepare for this catalog, said before the study opens."""
    from explanations.network_services import OCCLUSION_SECONDS_PER_PAIR

    costly = study.conditions.filter(
        is_active=True, recommender=Condition.Recommender.TAGGER,
        explanation__in=[Condition.Shows.SPECTROGRAM, Condition.Shows.BOTH],
    ).values_list("name", flat=True)
    if not costly:
        return []
    pairs = study.catalog.tracks.filter(status=Track.Status.ANALYSED).count() * (study.n_recommendations + study.max_liked)
    # Both taggers side by side run two networks for each covered passage.
    per_pair = OCCLUSION_SECONDS_PER_PAIR * (2 if study.tag_vocabulary == Study.TagVocabulary.BOTH else 1)
    minutes = pairs * per_pair / 60
    return [
        f"{', '.join(costly)}: spectrograms of the tagger's recommendations are found by occlusion, a tagger pass "
        f"for each covered passage, about {per_pair:.1f} s per pair: about {minutes:.0f} min of "
        f"one worker to prepare this catalog's {pairs} pairs (other explanations take milliseconds per pair). "
        "Prerender them before opening, or explain the tagger with tags."
    ]


def study_prerender_plan(*, study: Study) -> list[PrerenderBatch]:
    """Every explanation this study's active conditions can show: per recommender's index, its kinds for each pair
    of the pool (each track with its nearest neighbours), in every language."""
    kinds_by_recommender: dict[str, set[str]] = {}
    for condition in study.conditions.filter(is_active=True):
        kinds_by_recommender.setdefault(condition.recommender, set()).update(condition.explanation_kinds)
    languages = [code for code, _ in settings.LANGUAGES]
    batches = []
    for recommender, kinds in sorted(kinds_by_recommender.items()):
        if kinds:
            index = study_index(study, recommender)
            pairs = pool_pairs(index=index, per_seed=study.n_recommendations + study.max_liked)
            batches.append(PrerenderBatch(index, sorted(kinds), pairs, languages))
    return batches


def study_prerender_explanations(
    *, study: Study, in_process: bool = False, progress: Callable[[int], None] | None = None,
    batches: list[PrerenderBatch] | None = None,
) -> list[PrerenderBatch]:
    """Compute ahead of time every explanation this study's conditions can show (``batches``, or its plan), in
    Celery jobs, or ``in_process`` here, telling ``progress`` of each one done."""
    batches = study_prerender_plan(study=study) if batches is None else batches
    for batch in batches:
        explanations_send(
            index=batch.index, kinds=batch.kinds, pairs=batch.pairs, languages=batch.languages,
            in_process=in_process, progress=progress,
        )
    return batches


def study_prerender_done(*, batches: list[PrerenderBatch]) -> int:
    """How many of these batches' explanations are stored, as this version computes and draws them."""
    return sum(
        explanations_done(index=b.index, kinds=b.kinds, pairs=b.pairs, languages=b.languages) for b in batches
    )


def study_sample_size(*, study: Study) -> dict:
    """Participants per condition for the study's power analysis (statsmodels): an independent t-test for the
    smallest effect of interest (Cohen's d), at its alpha and power.

    Without a preregistration: two-sided, alpha split over every pairwise comparison (Bonferroni). With one, as
    planned: the primary family (each primary outcome, each condition against the reference) shares alpha
    (Bonferroni, which Holm never falls below), one-sided where the plan has a direction, and a planned
    Mann–Whitney test needs n / 0.955 (its efficiency relative to t under normality)."""
    import math

    from statsmodels.stats.power import TTestIndPower

    from study.models import Preregistration

    k = max(2, study.conditions.filter(is_active=True).count())
    plan = Preregistration.objects.filter(study=study).first()
    scales = [o for o in (plan.primary_outcomes if plan else []) if o != "understanding"]
    if plan and scales:
        comparisons = len(plan.primary_outcomes) * (k - 1)
        alternative = {"greater": "larger", "less": "larger", "two-sided": "two-sided"}[plan.direction]
        planned = f"as preregistered: {plan.get_test_display()}, {plan.direction}, {comparisons} primary test(s)"
    else:
        comparisons, alternative, planned = k * (k - 1) // 2, "two-sided", "two-sided t test, every pair of conditions"
    alpha = study.alpha / comparisons
    n = TTestIndPower().solve_power(effect_size=study.effect_size_d, alpha=alpha, power=study.power, ratio=1.0,
                                    alternative=alternative)
    if plan and plan.test == plan.Test.MANN_WHITNEY and scales:
        n /= 0.955
    return {"per_condition": math.ceil(n), "conditions": k, "total": k * math.ceil(n), "comparisons": comparisons,
            "alpha_per_comparison": alpha, "effect_size_d": study.effect_size_d, "power": study.power,
            "planned": planned}


def study_simulation_sample_size(*, study: Study, icc: float = 0.1) -> dict:
    """Participants per condition for the understanding tests' post-test accuracy: the study's expected accuracy
    against it plus the smallest difference of interest, two-sided at the study's alpha (split over the pairwise
    comparisons like study_sample_size) and power, each participant answering simulation_trials trials that
    correlate within the person (``icc``)."""
    from research.simulation_analysis import participants_for_accuracy

    k = max(2, study.conditions.filter(is_active=True).count())
    return participants_for_accuracy(
        base=study.simulation_base_accuracy, difference=study.simulation_difference, trials=study.simulation_trials,
        icc=icc, alpha=study.alpha / (k * (k - 1) // 2), power=study.power,
    )
