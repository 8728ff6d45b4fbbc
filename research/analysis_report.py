"""The analysis report of a study: its answers read from the database, research.analysis run on them, and the
result written as HTML with figures and CSV tables (python manage.py analyse_study, and a staff page)."""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation

from research import analysis, rating_models, simulation_analysis
from research.export import participant_summaries, pseudonym
from research.export_files import configuration_sha256, software_version
from research.preregistration import preregistration_markdown
from study.models import Preregistration, Response, SimulationTrial, Study, model_side

TABLES = ("descriptives", "reliability", "comparisons", "mixed_models", "checks", "excluded", "scores")
#: The understanding tests' tables (research.simulation_analysis), written as simulation*.csv.
SIMULATION_TABLES = {"simulation": "accuracy", "simulation_model": "model", "simulation_relation": "relation"}


def study_trials_data(study: Study) -> pd.DataFrame:
    """Every answered understanding-test trial of those who consented, by participant pseudonym."""
    rows = [
        {"participant": pseudonym(participant_id), "condition": condition, "phase": phase, "item": item,
         "correct": choice == model_side(left, right), "confidence": confidence}
        for participant_id, condition, phase, item, choice, left, right, confidence in (
            SimulationTrial.objects.filter(participant__study=study, participant__assignment__isnull=False)
            .exclude(choice="").order_by("participant_id", "-phase", "position")
            .values_list("participant_id", "participant__assignment__condition__slug", "phase", "item", "choice",
                         "left_score", "right_score", "confidence")
        )
    ]
    return pd.DataFrame(rows, columns=[*simulation_analysis.TRIAL_COLUMNS, "confidence"])


def study_analysis_data(study: Study) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """(participants, answers, condition slugs in the study's order): everyone who consented, named by pseudonym."""
    summaries = participant_summaries(study)
    people = []
    for participant in study.participants.select_related("assignment__condition").exclude(assignment=None):
        summary = summaries[participant.pk]
        people.append({
            "participant": pseudonym(participant.pk), "condition": participant.condition.slug,
            "is_pilot": participant.is_pilot, "completed": participant.completed_at is not None,
            "attention_passed": summary["attention_passed"] if summary["attention_passed"] != "" else None,
            "too_fast": bool(summary["too_fast"]),
            "manipulation_passed": summary["manipulation_passed"] if summary["manipulation_passed"] != "" else None,
            "straightlined": summary["straightlined"] if summary["straightlined"] != "" else None,
        })
    answers = []
    for response in Response.objects.filter(participant__study=study, participant__assignment__isnull=False).select_related(
        "participant__assignment__condition", "item", "recommendation"
    ).iterator(chunk_size=2000):
        item = response.item
        answers.append({
            "participant": pseudonym(response.participant_id), "condition": response.participant.condition.slug,
            "section": item.section, "construct": item.construct if not item.check_kind else "check", "item": item.code,
            "value": response.value, "scale_min": min(item.scale), "scale_max": max(item.scale),
            "reverse_coded": item.reverse_coded and item.kind == item.Kind.LIKERT,
            "recommendation_rank": response.recommendation.rank if response.recommendation else None,
            "track": str(response.recommendation.track_id) if response.recommendation else "",
        })
    conditions = list(study.conditions.order_by("pk").values_list("slug", flat=True))
    return (
        pd.DataFrame(people, columns=["participant", "condition", "is_pilot", "completed", "attention_passed", "too_fast",
                                      "manipulation_passed", "straightlined"]),
        pd.DataFrame(answers, columns=analysis.ANSWER_COLUMNS),
        conditions,
    )


@dataclass
class Report:
    analysis: analysis.Analysis
    simulation: simulation_analysis.SimulationAnalysis | None  # None: nobody analysed took an understanding test
    figures: dict[str, bytes]  # scale -> PNG
    html: str
    made_by: dict  # what made it: study, time, pilots or not, configuration hash, software version
    confirmatory: pd.DataFrame | None = None  # the preregistered tests (None: the study has no plan)
    preregistration: str = ""  # the plan's document (Markdown)


def _records(frame: pd.DataFrame) -> list[dict]:
    return [] if frame is None or frame.empty else frame.round(4).astype(object).where(frame.notna(), None).to_dict("records")


def study_analyse(*, study: Study, include_pilot: bool = False, inline_figures: bool = False) -> Report:
    """Run the analysis and render its report; ``inline_figures`` embeds the PNGs (for the staff page)."""
    participants, answers, conditions = study_analysis_data(study)
    result = analysis.analyse(participants, answers, conditions=conditions, include_pilot=include_pilot,
                              equivalence_d=study.effect_size_d, rules=study.exclusion_rules)
    figures = {
        scale: analysis.scale_plot(result.scores, scale, result.conditions, title=scale.replace("_", " "))
        for scale in result.scales
    }
    trials = study_trials_data(study)
    trials = trials[trials["participant"].isin(result.included)]
    simulation = (simulation_analysis.analyse_simulation(trials, result.scores, conditions) if len(trials) else None)
    plan = Preregistration.objects.filter(study=study).first()
    confirmatory = None
    if plan is not None:
        # The preregistered tests; "understanding" is each participant's post-test accuracy.
        post = trials[trials["phase"] == "post"].assign(correct=lambda t: t["correct"].astype(float))
        scores = result.scores.join(post.groupby("participant")["correct"].mean().rename("understanding"),
                                    on="participant")
        confirmatory = analysis.confirmatory(scores, plan.primary_outcomes, result.conditions, test=plan.test,
                                             direction=plan.direction, alpha=study.alpha)
    now = timezone.now()
    made_by = {
        "study": study.slug, "generated_at": now.isoformat(), "include_pilot": include_pilot,
        "configuration_sha256": configuration_sha256(study), "software_version": software_version(),
    }
    context = {
        "made_by": made_by,
        "study": study, "generated_at": now, "include_pilot": include_pilot, "analysis": result,
        "n_participants": len(participants), "n_included": len(result.included),
        "tables": {name: _records(getattr(result, name)) for name in TABLES},
        "simulation": simulation, "plan": plan,
        "confirmatory": _records(confirmatory) if confirmatory is not None else None,
        "simulation_tables": {name: _records(getattr(simulation, part)) for name, part in SIMULATION_TABLES.items()}
        if simulation else {},
        "figures": {
            scale: (f"data:image/png;base64,{base64.b64encode(png).decode()}" if inline_figures else f"figures/{scale}.png")
            for scale, png in figures.items()
        },
    }
    with translation.override(settings.LANGUAGE_CODE):  # a researcher's report, whatever page language is active
        html = render_to_string("research/analysis_report.html", context)
    return Report(result, simulation, figures, html, made_by,
                  confirmatory, preregistration_markdown(study) if plan is not None else "")


def write_report(report: Report, out: Path) -> list[Path]:
    """index.html, one CSV per table (simulation*.csv when participants took understanding tests) and one PNG per
    scale under ``out``; returns the files written."""
    (out / "figures").mkdir(parents=True, exist_ok=True)
    written = [out / "index.html", out / "meta.json"]
    written[0].write_text(report.html, encoding="utf-8")
    written[1].write_text(json.dumps(report.made_by, indent=2) + "\n", encoding="utf-8")
    for name in TABLES:
        frame = getattr(report.analysis, name)
        path = out / f"{name}.csv"
        (frame if frame is not None else pd.DataFrame()).to_csv(path, index=False)
        written.append(path)
    if report.confirmatory is not None:
        (out / "preregistration.md").write_text(report.preregistration, encoding="utf-8")
        report.confirmatory.to_csv(out / "confirmatory.csv", index=False)
        written += [out / "preregistration.md", out / "confirmatory.csv"]
    if report.simulation is not None:
        for name, part in SIMULATION_TABLES.items():
            path = out / f"{name}.csv"
            getattr(report.simulation, part).to_csv(path, index=False)
            written.append(path)
    for scale, png in report.figures.items():
        path = out / "figures" / f"{scale}.png"
        path.write_bytes(png)
        written.append(path)
    return written


RERUN = """The analysis's R models, with the very data they were fitted on, to rerun in R and get the same numbers:

    Rscript ratings/script.R ratings          # writes ratings/models.csv: mixed_models.csv of the report
    Rscript understanding/script.R understanding  # writes understanding/fixed.csv: simulation_model.csv

Needs R with lme4, lmerTest and ordinal (Debian: r-base-core r-cran-lme4 r-cran-lmertest r-cran-ordinal).
Participants are named by the exports' pseudonyms; those the study's exclusion rules leave out are not here.
"""


def study_analysis_files(study: Study, *, include_pilot: bool = False) -> dict[str, bytes]:
    """The R scripts of the analysis and their inputs, as the report fits them (for the data package)."""
    participants, answers, conditions = study_analysis_data(study)
    excluded = analysis.exclusions(participants, include_pilot=include_pilot, rules=study.exclusion_rules)
    included = set(participants["participant"]) - set(excluded["participant"])
    ratings = analysis.ratings(answers[answers["participant"].isin(included)])
    trials = study_trials_data(study)
    trials = trials[trials["participant"].isin(included)].assign(correct=lambda t: t["correct"].astype(int))
    order = "\n".join(conditions) + "\n"
    return {
        "README.txt": RERUN.encode(),
        "ratings/script.R": rating_models.SCRIPT.encode(), "ratings/conditions.txt": order.encode(),
        "ratings/ratings.csv": ratings.to_csv(index=False).encode(),
        "understanding/script.R": simulation_analysis.GLMER_SCRIPT.encode(),
        "understanding/conditions.txt": order.encode(),
        "understanding/trials.csv": trials[simulation_analysis.TRIAL_COLUMNS].to_csv(index=False).encode(),
    }
