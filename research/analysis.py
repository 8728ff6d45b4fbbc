"""The by-condition analysis of a study: answers in (pandas), tables and figures out. No Django here.

Statistics come from scipy and statsmodels (and R, for the mixed models), unrounded; one sign convention
everywhere: a difference is condition − reference, the reference being the study's first condition.
- every questionnaire scale scored per participant (reverse-coded items reversed: min + max − value,
  then the mean of the scale's items), and each per-recommendation rating averaged per participant;
- per condition: n, mean, SD, median and IQR; Cronbach's alpha with its 95 % Feldt interval per scale of
  two or more items;
- two conditions: Mann–Whitney U with the rank-biserial correlation (BCa bootstrap interval, 10,000
  resamples from a recorded seed), Welch's t with the mean difference's interval and Hedges' g (exact
  noncentral-t interval), and a TOST equivalence test at ± the study's smallest effect of interest; three or
  more: Kruskal–Wallis with epsilon squared and pairwise Mann–Whitney tests, Holm-corrected, each r with its
  interval;
- per-recommendation ratings: mixed models in R (research.rating_models: lmerTest with participant and track
  random intercepts, the same with rank, ordinal::clmm, the omnibus test and Holm-corrected pairs), because one
  participant's ratings are not independent and the same tracks recur.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from research.comparisons import BOOTSTRAP_SEED, comparisons, confirmatory  # noqa: F401 (the analysis's names)
from research.rating_models import COLUMNS as RATING_COLUMNS
from research.rating_models import rating_models

#: Columns the answers table must have (one row per answer, as research.export's long format).
ANSWER_COLUMNS = ["participant", "condition", "section", "construct", "item", "value", "scale_min", "scale_max",
                  "reverse_coded", "recommendation_rank", "track"]
#: Why a participant is left out, in the order the report lists them.
EXCLUSIONS = ("pilot", "incomplete", "failed attention check", "failed manipulation check", "straight-lined",
              "too fast")
#: The exclusion rules a study may choose (Study.exclusion_rules), and the reason each gives.
RULES = {"attention": "failed attention check", "manipulation": "failed manipulation check",
         "straightlining": "straight-lined", "too_fast": "too fast"}
DEFAULT_RULES = ("attention", "too_fast")


def exclusion_reasons(*, is_pilot: bool, completed: bool, checks: dict, include_pilot: bool = False,
                      rules=DEFAULT_RULES) -> list[str]:
    """Why one participant is left out of the analysis (empty: analysed). ``checks`` holds attention_passed and
    manipulation_passed (True, False, or ""/None when not asked), straightlined and too_fast. A pilot analysed on
    request is not held to the minimum duration: bots take seconds, and a pilot's timing says nothing."""
    reasons = []
    if is_pilot and not include_pilot:
        reasons.append("pilot")
    if not completed:
        reasons.append("incomplete")
    if "attention" in rules and checks.get("attention_passed") is False:
        reasons.append(RULES["attention"])
    if "manipulation" in rules and checks.get("manipulation_passed") is False:
        reasons.append(RULES["manipulation"])
    if "straightlining" in rules and checks.get("straightlined") is True:
        reasons.append(RULES["straightlining"])
    if "too_fast" in rules and bool(checks.get("too_fast")) and not is_pilot:
        reasons.append(RULES["too_fast"])
    return reasons


@dataclass
class Analysis:
    included: list[str]
    excluded: pd.DataFrame  # participant, condition, reasons
    scores: pd.DataFrame  # one row per included participant: condition and one column per scale
    descriptives: pd.DataFrame  # scale, condition, n, mean, sd, median, q1, q3, iqr
    reliability: pd.DataFrame  # scale, items, n, alpha, ci_low, ci_high
    comparisons: pd.DataFrame  # scale, test, groups, statistic, df, p, p_holm, effect, effect_value, ci_low, ci_high
    checks: pd.DataFrame  # condition, finished, failed attention / manipulation checks, straight-lined, too fast
    mixed_models: pd.DataFrame  # research.rating_models.COLUMNS: outcome, term, estimate, std_error, df, ...
    conditions: list[str] = field(default_factory=list)
    scales: list[str] = field(default_factory=list)


def exclusions(participants: pd.DataFrame, *, include_pilot: bool = False, rules=DEFAULT_RULES) -> pd.DataFrame:
    """participant, condition, reasons (a "; "-joined list) for everyone left out of the analysis.

    ``participants`` has participant, condition, is_pilot, completed, attention_passed (True, False
    or None when not asked), too_fast, and where known manipulation_passed and straightlined; ``rules`` are
    the study's exclusion rules (RULES).
    """
    rows = []
    for row in participants.to_dict("records"):
        reasons = exclusion_reasons(is_pilot=bool(row["is_pilot"]), completed=bool(row["completed"]), checks=row,
                                    include_pilot=include_pilot, rules=rules)
        if reasons:
            rows.append({"participant": row["participant"], "condition": row["condition"], "reasons": "; ".join(reasons)})
    return pd.DataFrame(rows, columns=["participant", "condition", "reasons"])


def checks(participants: pd.DataFrame, conditions: list[str], *, include_pilot: bool = False) -> pd.DataFrame:
    """Per condition, of those who finished: how many failed the attention and the manipulation check,
    straight-lined, or were too fast, whether or not the study excludes them for it (the manipulation check's
    failures by condition say whether the manipulation was noticed)."""
    columns = ["condition", "finished", "attention_failed", "manipulation_failed", "manipulation_failed_share",
               "straightlined", "too_fast"]
    done = participants[participants["completed"].astype(bool)]
    if not include_pilot:
        done = done[~done["is_pilot"].astype(bool)]
    rows = []
    for condition in conditions:
        mine = done[done["condition"] == condition]
        failed = int((mine.get("manipulation_passed", pd.Series(dtype=object)) == False).sum())  # noqa: E712
        rows.append({
            "condition": condition, "finished": len(mine),
            "attention_failed": int((mine["attention_passed"] == False).sum()),  # noqa: E712
            "manipulation_failed": failed, "manipulation_failed_share": failed / len(mine) if len(mine) else np.nan,
            "straightlined": int((mine.get("straightlined", pd.Series(dtype=object)) == True).sum()),  # noqa: E712
            "too_fast": int(mine["too_fast"].astype(bool).sum()),
        })
    return pd.DataFrame(rows, columns=columns)


def scored(answers: pd.DataFrame) -> pd.DataFrame:
    """The answers with ``scored``: the value, reversed for reverse-coded items (min + max − value)."""
    answers = answers.copy()
    reverse = answers["reverse_coded"].astype(bool)
    answers["scored"] = np.where(
        reverse, answers["scale_min"] + answers["scale_max"] - answers["value"], answers["value"]
    ).astype(float)
    return answers


def _likert_scales(answers: pd.DataFrame) -> pd.DataFrame:
    """The answers that make up scales: questionnaire and rating items of a construct (not checks, not demographics)."""
    keep = answers["section"].isin(["questionnaire", "rating"]) & ~answers["construct"].isin(["check", ""])
    return answers[keep]


def scale_scores(answers: pd.DataFrame) -> pd.DataFrame:
    """One row per participant: condition and each scale's score (the mean of its scored items; ratings
    averaged over the recommendations first)."""
    items = _likert_scales(scored(answers))
    # A rating asked of every recommendation is its own score, never mixed into a questionnaire scale of the
    # same construct (reliability is computed on the questionnaire's items alone). It is named after its item,
    # as the export's columns (understand_why_r1, ...) and the mixed model name it: understand_why_mean_rating.
    items = items.assign(construct=np.where(items["section"] == "rating", items["item"] + "_mean_rating", items["construct"]))
    per_item = items.groupby(["participant", "condition", "construct", "item"], as_index=False)["scored"].mean()
    scores = per_item.groupby(["participant", "condition", "construct"], as_index=False)["scored"].mean()
    wide = scores.pivot(index=["participant", "condition"], columns="construct", values="scored").reset_index()
    wide.columns.name = None
    return wide


def descriptives(scores: pd.DataFrame, scales: list[str]) -> pd.DataFrame:
    rows = []
    for scale in scales:
        for condition, values in scores.groupby("condition")[scale]:
            values = values.dropna()
            q1, q3 = (values.quantile(0.25), values.quantile(0.75)) if len(values) else (np.nan, np.nan)
            rows.append({
                "scale": scale, "condition": condition, "n": len(values), "mean": values.mean(),
                "sd": values.std(ddof=1), "median": values.median(), "q1": q1, "q3": q3, "iqr": q3 - q1,
            })
    return pd.DataFrame(rows, columns=["scale", "condition", "n", "mean", "sd", "median", "q1", "q3", "iqr"])


def reliability(answers: pd.DataFrame) -> pd.DataFrame:
    """Cronbach's alpha (95 % CI) of each questionnaire scale with two or more items, over participants who
    answered every item."""
    items = _likert_scales(scored(answers))
    items = items[items["section"] == "questionnaire"]
    rows = []
    for construct, group in items.groupby("construct"):
        table = group.pivot_table(index="participant", columns="item", values="scored").dropna()
        if table.shape[1] < 2 or table.shape[0] < 3:
            continue
        alpha, low, high = cronbach_alpha(table.to_numpy(float))
        rows.append({"scale": construct, "items": table.shape[1], "n": table.shape[0], "alpha": alpha,
                     "ci_low": low, "ci_high": high})
    return pd.DataFrame(rows, columns=["scale", "items", "n", "alpha", "ci_low", "ci_high"])


def cronbach_alpha(scores: np.ndarray) -> tuple[float, float, float]:
    """Cronbach's alpha of a participants x items matrix and its 95 % interval (Feldt 1965: F with n − 1 and
    (n − 1)(k − 1) degrees of freedom); NaN when the total has no variance."""
    from scipy import stats

    n, k = scores.shape
    total = scores.sum(axis=1).var(ddof=1)
    if total == 0:
        return np.nan, np.nan, np.nan
    alpha = k / (k - 1) * (1 - scores.var(axis=0, ddof=1).sum() / total)
    df1, df2 = n - 1, (n - 1) * (k - 1)
    return (float(alpha), float(1 - (1 - alpha) * stats.f.ppf(0.975, df1, df2)),
            float(1 - (1 - alpha) * stats.f.ppf(0.025, df1, df2)))


def ratings(answers: pd.DataFrame) -> pd.DataFrame:
    """One row per rating of a recommendation: participant, condition, item, rating (reverse-coded items
    reversed), rank and track (each rating its own track where the answers do not say)."""
    rated = scored(answers)
    rated = rated[rated["section"] == "rating"]
    track = rated["track"] if "track" in rated else pd.Series(range(len(rated)), index=rated.index).astype(str)
    return pd.DataFrame({
        "participant": rated["participant"], "condition": rated["condition"], "item": rated["item"],
        "rating": rated["scored"], "rank": rated["recommendation_rank"], "track": track.fillna("").astype(str),
    })


def analyse(
    participants: pd.DataFrame, answers: pd.DataFrame, *, conditions: list[str], include_pilot: bool = False,
    equivalence_d: float = 0.5, rules=DEFAULT_RULES,
) -> Analysis:
    """The whole analysis: exclusions, scale scores, descriptives, reliability, comparisons, mixed models."""
    excluded = exclusions(participants, include_pilot=include_pilot, rules=rules)
    included = [p for p in participants["participant"] if p not in set(excluded["participant"])]
    answers = answers[answers["participant"].isin(included)]
    scores = scale_scores(answers) if len(answers) else pd.DataFrame(columns=["participant", "condition"])
    scales = [c for c in scores.columns if c not in ("participant", "condition")]
    present = [c for c in conditions if c in set(scores["condition"])]
    return Analysis(
        included=included, excluded=excluded, scores=scores, descriptives=descriptives(scores, scales),
        checks=checks(participants, conditions, include_pilot=include_pilot),
        reliability=reliability(answers) if len(answers) else pd.DataFrame(),
        comparisons=comparisons(scores, scales, present, equivalence_d=equivalence_d) if scales else pd.DataFrame(),
        mixed_models=rating_models(ratings(answers), present) if len(answers) else pd.DataFrame(columns=RATING_COLUMNS),
        conditions=present, scales=scales,
    )


def scale_plot(scores: pd.DataFrame, scale: str, conditions: list[str], *, title: str) -> bytes:
    """Box plot of one scale per condition, every participant's score drawn over it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(1.6 + 1.3 * len(conditions), 3.4), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    data = [scores.loc[scores["condition"] == c, scale].dropna().to_numpy() for c in conditions]
    ax.boxplot(data, tick_labels=conditions, widths=0.5, showfliers=False, medianprops={"color": "#D55E00"})
    rng = np.random.default_rng(0)
    for i, values in enumerate(data, start=1):
        ax.scatter(i + rng.uniform(-0.12, 0.12, len(values)), values, s=14, color="#0072B2", alpha=0.6, zorder=3)
    ax.set_title(title, fontsize=10, loc="left")
    ax.set_ylabel("Scale score")
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()
