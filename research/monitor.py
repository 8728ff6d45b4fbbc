"""The live monitor of a study: who arrived, who is where, who finished or dropped out, per condition, with
figures. Read-only; the staff page that shows it refreshes itself."""
from __future__ import annotations

import base64
import io
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.utils import timezone
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from research.analysis import exclusion_reasons
from research.export import participant_summaries
from study import flow
from study.models import Participant, SimulationTrial, Study, model_side
from study.services import study_listening

Page = Participant.Page


@dataclass
class ConditionFlow:
    """A CONSORT-style flow of one condition: assigned, then finished / still going / dropped, and excluded."""

    slug: str
    assigned: int = 0
    finished: int = 0
    in_progress: int = 0
    dropped: int = 0  # no activity for DROPPED_AFTER and not finished
    excluded: int = 0  # finished, but left out by one of the study's exclusion rules
    analysed: int = 0
    attention_failed: int = 0
    manipulation_failed: int = 0  # named another explanation than their condition showed
    straightlined: int = 0
    listened_median_s: float | None = None


@dataclass
class Monitor:
    generated_at: object
    entered: int
    declined: int
    not_yet_consented: int
    pilots: int
    conditions: list[ConditionFlow]
    dropout_by_page: dict[str, int]  # last page of those who dropped out
    median_seconds_by_page: dict[str, float]
    target_per_condition: int = 0  # the study's target of analysed participants per condition (0: none set)
    understanding: list[dict] = field(default_factory=list)  # condition, phase, participants, trials, accuracy
    figures: dict[str, str] = field(default_factory=dict)  # name -> data: URI of a PNG


#: A participant not finished and not seen for this long counts as dropped out.
DROPPED_AFTER = timezone.timedelta(minutes=60)


def _png_uri(fig: Figure) -> str:
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def study_monitor(*, study: Study, include_pilot: bool = False, now=None) -> Monitor:
    now = now or timezone.now()
    people = study.participants.select_related("assignment__condition").prefetch_related("visits")
    if not include_pilot:
        people = people.filter(is_pilot=False)
    people = list(people)
    summaries = participant_summaries(study)
    listened = defaultdict(float)
    for recommendation_id, seconds in study_listening(study=study).items():
        listened[recommendation_id] = seconds
    heard_by_participant = defaultdict(float)
    for participant_id, recommendation_id in study.participants.values_list("pk", "recommendations"):
        if recommendation_id:
            heard_by_participant[participant_id] += listened.get(recommendation_id, 0.0)

    flows = {c.slug: ConditionFlow(c.slug) for c in study.conditions.order_by("pk")}
    dropout, page_seconds = Counter(), defaultdict(list)
    heard = defaultdict(list)
    for person in people:
        last_seen = max([v.left_at or v.entered_at for v in person.visits.all()] + [person.started_at])
        for visit in person.visits.all():
            if visit.seconds is not None:
                page_seconds[visit.page].append(visit.seconds)
        condition = person.condition
        if condition is None:
            continue
        row = flows.setdefault(condition.slug, ConditionFlow(condition.slug))
        row.assigned += 1
        summary = summaries[person.pk]
        row.attention_failed += summary["attention_passed"] is False
        row.manipulation_failed += summary["manipulation_passed"] is False
        row.straightlined += summary["straightlined"] is True
        if person.page == Page.DONE:
            row.finished += 1
            # The analysis's own rule, with the study's exclusion rules (pilots shown here are not excluded as such).
            if exclusion_reasons(is_pilot=person.is_pilot, completed=True, checks=summary, include_pilot=True,
                                 rules=study.exclusion_rules):
                row.excluded += 1
            else:
                row.analysed += 1
            heard[condition.slug].append(heard_by_participant[person.pk])
        elif person.left_at or now - last_seen > DROPPED_AFTER:  # left_at: a pilot bot that left on purpose
            row.dropped += 1
            dropout[person.page] += 1
        else:
            row.in_progress += 1
    for slug, values in heard.items():
        flows[slug].listened_median_s = round(statistics.median(values), 1)

    monitor = Monitor(
        generated_at=now,
        entered=len(people),
        declined=sum(p.page == Page.DECLINED for p in people),
        not_yet_consented=sum(p.page == Page.CONSENT for p in people),
        pilots=study.participants.filter(is_pilot=True).count(),
        conditions=list(flows.values()),
        dropout_by_page={page: dropout[page] for page in flow.FLOW if dropout[page]},
        median_seconds_by_page={
            page: round(statistics.median(page_seconds[page]), 1) for page in flow.FLOW if page_seconds[page]
        },
        target_per_condition=study.target_per_condition,
        understanding=_understanding(people),
    )
    monitor.figures = _figures(people, monitor)
    return monitor


def _understanding(people: list[Participant]) -> list[dict]:
    """Understanding-test accuracy per condition and test as answers arrive: the share of answered trials that
    agree with the model, over everyone shown (finished or not)."""
    counts = defaultdict(lambda: [set(), 0, 0])
    for participant_id, condition, phase, choice, left, right in SimulationTrial.objects.filter(
        participant__in=[p.pk for p in people], participant__assignment__isnull=False,
    ).exclude(choice="").values_list("participant_id", "participant__assignment__condition__slug", "phase", "choice",
                                     "left_score", "right_score"):
        row = counts[condition, phase]
        row[0].add(participant_id)
        row[1] += 1
        row[2] += choice == model_side(left, right)
    order = {"pre": 0, "post": 1}
    return [
        {"condition": condition, "phase": phase, "participants": len(who), "trials": trials,
         "accuracy": round(correct / trials, 3)}
        for (condition, phase), (who, trials, correct) in sorted(counts.items(), key=lambda kv: (kv[0][0], order[kv[0][1]]))
    ]


def _figures(people: list[Participant], monitor: Monitor) -> dict[str, str]:
    figures = {}
    if people:
        fig = Figure(figsize=(6.5, 2.6), layout="constrained")
        ax = fig.subplots()
        starts = sorted(p.started_at for p in people)
        ax.plot(starts, range(1, len(starts) + 1), drawstyle="steps-post", color="#0072B2", linewidth=2)
        ax.set_ylabel("Participants (cumulative)")
        ax.set_title("Arrivals over time (UTC)", fontsize=10, loc="left")
        ax.grid(color="#dddddd", linewidth=0.6)
        fig.autofmt_xdate()
        figures["arrivals"] = _png_uri(fig)
    if monitor.conditions:
        fig = Figure(figsize=(6.5, 0.6 + 0.45 * len(monitor.conditions)), layout="constrained")
        ax = fig.subplots()
        names = [c.slug for c in monitor.conditions][::-1]
        left = [0] * len(names)
        for label, colour, values in (
            ("analysed", "#009E73", [c.analysed for c in monitor.conditions][::-1]),
            ("finished, excluded", "#E69F00", [c.excluded for c in monitor.conditions][::-1]),
            ("in progress", "#56B4E9", [c.in_progress for c in monitor.conditions][::-1]),
            ("dropped out", "#D55E00", [c.dropped for c in monitor.conditions][::-1]),
        ):
            ax.barh(names, values, left=left, color=colour, label=label)
            left = [a + b for a, b in zip(left, values)]
        ax.set_xlabel("Participants assigned")
        # Whole participants from 0, up to the target or the fullest condition (never -0.04 to 0.04 when empty).
        ax.set_xlim(0, max(1, monitor.target_per_condition or 0, max(left)) * 1.05)
        ax.xaxis.get_major_locator().set_params(integer=True)
        if monitor.target_per_condition:
            ax.axvline(monitor.target_per_condition, color="#333333", linestyle="--", linewidth=1)
            ax.annotate("target", (monitor.target_per_condition, len(names) - 0.5), fontsize=8, ha="center")
        ax.legend(fontsize=8, ncol=4, loc="lower left", bbox_to_anchor=(0, 1.0), frameon=False)
        figures["conditions"] = _png_uri(fig)
    if monitor.median_seconds_by_page:
        fig = Figure(figsize=(6.5, 2.4), layout="constrained")
        ax = fig.subplots()
        pages = list(monitor.median_seconds_by_page)
        ax.bar(pages, [monitor.median_seconds_by_page[p] for p in pages], color="#0072B2")
        ax.set_ylabel("Median seconds")
        ax.set_title("Time per page", fontsize=10, loc="left")
        figures["pages"] = _png_uri(fig)
    return figures
