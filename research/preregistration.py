"""A study's preregistration as a document: the nine questions of AsPredicted, answered from the plan and from the
study's own configuration (conditions, randomisation, exclusion rules, target and power), so the document can never
disagree with what runs. Opening the study freezes it; later changes are amendments, listed with their dates."""
from __future__ import annotations

import html

from django.utils import timezone

from research.export_files import configuration_sha256
from study.models import AuditEntry, Preregistration, Study

#: AsPredicted's questions, in its order.
QUESTIONS = [
    "Data collection. Have any data been collected for this study already?",
    "Hypothesis. What's the main question being asked or hypothesis being tested in this study?",
    "Dependent variable. Describe the key dependent variable(s) specifying how they will be measured.",
    "Conditions. How many and which conditions will participants be assigned to?",
    "Analyses. Specify exactly which analyses you will conduct to examine the main question/hypothesis.",
    "Outliers and Exclusions. Describe exactly how outliers will be defined and handled, and your precise rule(s) "
    "for excluding observations.",
    "Sample Size. How many observations will be collected or what will determine sample size?",
    "Other. Anything else you would like to pre-register?",
    "Name. Give a title for this AsPredicted pre-registration.",
]

RULE_TEXT = {
    "attention": "participants who do not give the answer the attention check asked them for (a value drawn for "
                 "each participant from the scale's inner points)",
    "manipulation": "participants who, asked what the explanations showed, name another kind than their condition's",
    "straightlining": "participants who give one and the same answer to every rating-scale item of the "
                      "post-questionnaire (at least 5 items)",
    "too_fast": "participants who finish faster than {min_duration_s} seconds",
}


def _outcome(study: Study, name: str) -> str:
    if name == "understanding":
        return (f"understanding: post-test accuracy in the understanding tests ({study.simulation_trials} trials; "
                "the share of trials in which the participant picks the candidate the condition's recommender "
                "scores higher)")
    items = list(study.items.filter(construct=name).values_list("code", "text", "scale_min", "scale_max"))
    if name.endswith("_mean_rating"):
        items = list(study.items.filter(code=name.removesuffix("_mean_rating")).values_list(
            "code", "text", "scale_min", "scale_max"))
        return (f"{name}: the participant's mean rating of the recommendations on “{items[0][1]}” "
                f"({items[0][2]} to {items[0][3]})" if items else f"{name} (not an item of this study)")
    if not items:
        return f"{name} (not a scale of this study)"
    listed = "; ".join(f"“{text}” ({low}–{high})" for _code, text, low, high in items)
    return f"{name}: the mean of its {len(items)} item(s), reverse-coded items reversed: {listed}"


def preregistration_sections(study: Study) -> list[tuple[str, str]]:
    """(question, answer) for each of AsPredicted's nine questions."""
    from research.services import study_sample_size, study_simulation_sample_size

    plan: Preregistration = study.preregistration
    conditions = list(study.conditions.filter(is_active=True).order_by("pk"))
    reference = conditions[0].slug if conditions else ""
    collected = plan.data_before_freeze if plan.frozen_at else study.participants.filter(is_pilot=False).exists()
    power = study_sample_size(study=study)
    direction = {"greater": f"one-sided, each condition higher than {reference}",
                 "less": f"one-sided, each condition lower than {reference}",
                 "two-sided": f"two-sided, each condition against {reference}"}[plan.direction]
    rules = [RULE_TEXT[r].format(min_duration_s=study.min_duration_s) for r in study.exclusion_rules]
    sample = (f"{study.target_per_condition} analysed participants per condition ({study.target_per_condition * len(conditions)} "
              "in all)." if study.target_per_condition else "No target is set yet.")
    sample += (f" The power analysis asks for {power['per_condition']} per condition to detect d = {study.effect_size_d} "
               f"with power {study.power} at alpha {power['alpha_per_comparison']:.4g} per comparison "
               f"({power['planned']}; statsmodels).")
    if study.simulation_trials:
        tests = study_simulation_sample_size(study=study)
        sample += (f" For the understanding tests' post-test accuracy ({tests['base']:.0%} vs "
                   f"{tests['base'] + tests['difference']:.0%}): {tests['per_condition']} per condition.")
    sample += f" {plan.stopping_rule}"
    return [
        (QUESTIONS[0], "Yes: participants (not pilots) had entered before this plan was frozen." if collected
         else "No, no data have been collected for this study yet (pilot participants, simulated or the "
              "researchers' own, are kept apart and never analysed with the data)."),
        (QUESTIONS[1], plan.hypothesis),
        (QUESTIONS[2], "Primary: " + "; ".join(_outcome(study, name) for name in plan.primary_outcomes)
         + ". Every other scale, rating and measure is secondary and reported as exploratory."),
        (QUESTIONS[3], f"{len(conditions)} conditions, between participants: " + "; ".join(
            f"{c.slug} ({c.get_explanation_display()}, recommended by the {c.get_recommender_display()})"
            for c in conditions) + f". Reference: {reference}. Randomisation: {study.get_randomisation_display()}."),
        (QUESTIONS[4], f"{plan.get_test_display()} of each primary outcome, {direction}, at alpha {study.alpha}; "
                       "Holm's correction across all primary outcomes and conditions. Differences are condition "
                       "minus reference. Exploratory: the mixed models of the per-recommendation ratings (lmerTest, "
                       "ordinal::clmm), the other scales and the understanding tests' other figures."),
        (QUESTIONS[5], "Excluded before analysis: pilot participants; participants who did not finish"
         + ("; " + "; ".join(rules) if rules else "") + ". No other observation is removed."),
        (QUESTIONS[6], sample),
        (QUESTIONS[7], (plan.other + " " if plan.other else "") + f"Resonance configuration hash "
                       f"{plan.frozen_configuration_sha256 or configuration_sha256(study)}."),
        (QUESTIONS[8], study.title),
    ]


def _amendments(study: Study) -> list[tuple[str, str]]:
    plan = study.preregistration
    if not plan.frozen_at:
        return []
    entries = AuditEntry.objects.filter(study=study, action=AuditEntry.Action.CHANGE_STUDY, at__gt=plan.frozen_at)
    return [
        (entry.at.strftime("%Y-%m-%d %H:%M UTC"), f"{entry.actor} changed {entry.detail.get('what', '')}: "
         + "; ".join(f"{name} from {old!r} to {new!r}" for name, (old, new) in entry.detail.get("changes", {}).items()))
        for entry in entries.order_by("at")
        if entry.detail.get("what", "").startswith(("preregistration", "study"))
    ]


def preregistration_markdown(study: Study) -> str:
    plan = study.preregistration
    state = (f"Frozen when the study opened, {plan.frozen_at:%Y-%m-%d %H:%M} UTC, with configuration hash "
             f"{plan.frozen_configuration_sha256}." if plan.frozen_at else "Draft: frozen when the study opens.")
    lines = [f"# Preregistration: {study.title}", "", state, ""]
    for number, (question, answer) in enumerate(preregistration_sections(study), start=1):
        lines += [f"## {number}. {question}", "", answer, ""]
    amendments = _amendments(study)
    if amendments:
        lines += ["## Amendments after freezing", ""] + [f"- {when}: {what}" for when, what in amendments] + [""]
    return "\n".join(lines)


def preregistration_html(study: Study) -> str:
    """The same document as a page a browser prints to PDF."""
    body = []
    for line in preregistration_markdown(study).splitlines():
        if line.startswith("# "):
            body.append(f"<h1>{html.escape(line[2:])}</h1>")
        elif line.startswith("## "):
            body.append(f"<h2>{html.escape(line[3:])}</h2>")
        elif line.startswith("- "):
            body.append(f"<p>• {html.escape(line[2:])}</p>")
        elif line:
            body.append(f"<p>{html.escape(line)}</p>")
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Preregistration</title>"
            "<style>body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;line-height:1.5}"
            "h2{font-size:1.05rem;margin-top:1.5rem}</style></head><body>" + "\n".join(body) + "</body></html>")


def preregistration_freeze(*, study: Study, actor: str) -> bool:
    """Freeze the plan as the study opens: its document, the configuration hash and whether data came first.
    A plan frozen once stays frozen; returns whether this call froze it."""
    plan = Preregistration.objects.filter(study=study, frozen_at__isnull=True).first()
    if plan is None:
        return False
    plan.data_before_freeze = study.participants.filter(is_pilot=False).exists()
    plan.frozen_configuration_sha256 = configuration_sha256(study)
    plan.frozen_at = timezone.now()
    plan.save()
    study = Study.objects.get(pk=study.pk)  # with the plan as now stored
    plan.frozen_document = preregistration_markdown(study)
    plan.save(update_fields=["frozen_document"])
    AuditEntry.objects.create(actor=actor[:200], action=AuditEntry.Action.CHANGE_STUDY, study=study, detail={
        "what": "preregistration frozen", "changes": {"frozen_at": [None, plan.frozen_at.isoformat()]},
        "configuration_sha256": plan.frozen_configuration_sha256,
    })
    return True
