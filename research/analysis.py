"""The by-condition analysis of a study: answers in (pandas), tables and figures out. No Django here.

Statistics come from pingouin, scipy and statsmodels, not hand-written formulas:
- every questionnaire scale scored per participant (reverse-coded items reversed: min + max − value,
  then the mean of the scale's items), and each per-recommendation rating averaged per participant;
- per condition: n, mean, SD, median and IQR; Cronbach's alpha with its 95 % confidence interval per
  scale of two or more items (pingouin.cronbach_alpha);
- two conditions: Mann–Whitney U with the rank-biserial correlation (pingouin.mwu) and Welch's t with
  Cohen's d, both with 95 % confidence intervals (pingouin.ttest, compute_esci); three or more:
  Kruskal–Wallis (pingouin.kruskal) and pairwise Mann–Whitney tests, Holm-corrected
  (pingouin.pairwise_tests);
- per-recommendation ratings: mixed models in R (research.rating_models: lmerTest with participant and track
  random intercepts, the same with rank, ordinal::clmm, the omnibus test and Holm-corrected pairs), because one
  participant's ratings are not independent and the same tracks recur.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import pandas as pd

from research.rating_models import COLUMNS as RATING_COLUMNS
from research.rating_models import rating_models

#: Columns the answers table must have (one row per answer, as research.export's long format).
ANSWER_COLUMNS = ["participant", "condition", "section", "construct", "item", "value", "scale_min", "scale_max",
                  "reverse_coded", "recommendation_rank", "track"]
#: Why a participant is left out, in the order the report lists them.
EXCLUSIONS = ("pilot", "incomplete", "failed attention check", "too fast")


@dataclass
class Analysis:
    included: list[str]
    excluded: pd.DataFrame  # participant, condition, reasons
    scores: pd.DataFrame  # one row per included participant: condition and one column per scale
    descriptives: pd.DataFrame  # scale, condition, n, mean, sd, median, q1, q3, iqr
    reliability: pd.DataFrame  # scale, items, n, alpha, ci_low, ci_high
    comparisons: pd.DataFrame  # scale, test, groups, statistic, df, p, p_holm, effect, effect_value, ci_low, ci_high
    mixed_models: pd.DataFrame  # research.rating_models.COLUMNS: outcome, term, estimate, std_error, df, ...
    conditions: list[str] = field(default_factory=list)
    scales: list[str] = field(default_factory=list)


def exclusions(participants: pd.DataFrame, *, include_pilot: bool = False) -> pd.DataFrame:
    """participant, condition, reasons (a "; "-joined list) for everyone left out of the analysis.

    ``participants`` has participant, condition, is_pilot, completed, attention_passed (True, False
    or None when not asked) and too_fast. A pilot participant analysed on request is not held to the
    minimum duration: bots take seconds, and a pilot's timing says nothing about attention.
    """
    rows = []
    for row in participants.itertuples(index=False):
        reasons = []
        if row.is_pilot and not include_pilot:
            reasons.append("pilot")
        if not row.completed:
            reasons.append("incomplete")
        if row.attention_passed is False:
            reasons.append("failed attention check")
        if bool(row.too_fast) and not row.is_pilot:
            reasons.append("too fast")
        if reasons:
            rows.append({"participant": row.participant, "condition": row.condition, "reasons": "; ".join(reasons)})
    return pd.DataFrame(rows, columns=["participant", "condition", "reasons"])


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
    import pingouin

    items = _likert_scales(scored(answers))
    items = items[items["section"] == "questionnaire"]
    rows = []
    for construct, group in items.groupby("construct"):
        table = group.pivot_table(index="participant", columns="item", values="scored").dropna()
        if table.shape[1] < 2 or table.shape[0] < 3:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # alpha is undefined for constant answers: NaN
            alpha, (low, high) = pingouin.cronbach_alpha(data=table)
        rows.append({"scale": construct, "items": table.shape[1], "n": table.shape[0], "alpha": alpha,
                     "ci_low": low, "ci_high": high})
    return pd.DataFrame(rows, columns=["scale", "items", "n", "alpha", "ci_low", "ci_high"])


def _rank_biserial_ci(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """95 % BCa bootstrap interval of the rank-biserial correlation (2 U / (n_x n_y) − 1, pingouin's RBC)."""
    from scipy import stats

    def rbc(a, b, axis=-1):
        u = stats.mannwhitneyu(a, b, axis=axis, alternative="two-sided").statistic
        return 2 * u / (a.shape[axis] * b.shape[axis]) - 1

    if len(np.unique(np.concatenate([x, y]))) < 2:
        return np.nan, np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a degenerate resample (all ties) makes BCa warn; the interval stands
        result = stats.bootstrap((x, y), rbc, n_resamples=2000, method="BCa", random_state=0)
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def _two_groups(scale: str, a: str, b: str, x: np.ndarray, y: np.ndarray) -> list[dict]:
    import pingouin

    mwu = pingouin.mwu(x, y, alternative="two-sided")
    rbc = float(mwu["RBC"].iloc[0])
    rbc_ci = _rank_biserial_ci(x, y)
    welch = pingouin.ttest(x, y, correction=True)
    d = float(welch["cohen_d"].iloc[0])
    # Cohen's d is pingouin's absolute value; give it the sign of the mean difference (a − b).
    d = d if np.mean(x) >= np.mean(y) else -d
    d_ci = pingouin.compute_esci(stat=d, nx=len(x), ny=len(y), eftype="cohen")
    groups = f"{a} vs {b}"
    diff_ci = welch["CI95"].iloc[0]
    return [
        {"scale": scale, "test": "Mann–Whitney U", "groups": groups, "statistic": float(mwu["U_val"].iloc[0]),
         "df": np.nan, "p": float(mwu["p_val"].iloc[0]), "effect": "rank-biserial r", "effect_value": rbc,
         "ci_low": rbc_ci[0], "ci_high": rbc_ci[1]},
        {"scale": scale, "test": "Welch's t", "groups": groups, "statistic": float(welch["T"].iloc[0]),
         "df": float(welch["dof"].iloc[0]), "p": float(welch["p_val"].iloc[0]), "effect": "Cohen's d",
         "effect_value": d, "ci_low": d_ci[0], "ci_high": d_ci[1],
         "mean_difference_ci_low": float(diff_ci[0]), "mean_difference_ci_high": float(diff_ci[1])},
    ]


def comparisons(scores: pd.DataFrame, scales: list[str], conditions: list[str]) -> pd.DataFrame:
    """Between conditions, per scale: two conditions, Mann–Whitney U and Welch's t; three or more,
    Kruskal–Wallis and pairwise Mann–Whitney U with Holm's correction."""
    import pingouin

    rows = []
    for scale in scales:
        data = scores[["condition", scale]].dropna()
        groups = {c: data.loc[data["condition"] == c, scale].to_numpy(float) for c in conditions}
        groups = {c: v for c, v in groups.items() if len(v) >= 2}
        if len(groups) < 2:
            continue
        if len(groups) == 2:
            (a, x), (b, y) = groups.items()
            rows += _two_groups(scale, a, b, x, y)
            continue
        kept = data[data["condition"].isin(groups)]
        kruskal = pingouin.kruskal(data=kept, dv=scale, between="condition")
        rows.append({"scale": scale, "test": "Kruskal–Wallis H", "groups": " vs ".join(groups),
                     "statistic": float(kruskal["H"].iloc[0]), "df": float(kruskal["ddof1"].iloc[0]),
                     "p": float(kruskal["p_unc"].iloc[0]), "effect": "", "effect_value": np.nan,
                     "ci_low": np.nan, "ci_high": np.nan})
        tests = [(a, b, pingouin.mwu(groups[a], groups[b], alternative="two-sided")) for a, b in pairs(list(groups))]
        _reject, holm = pingouin.multicomp([float(t["p_val"].iloc[0]) for _a, _b, t in tests], method="holm")
        for (a, b, test), p_holm in zip(tests, holm):
            rows.append({"scale": scale, "test": "Mann–Whitney U (pairwise)", "groups": f"{a} vs {b}",
                         "statistic": float(test["U_val"].iloc[0]), "df": np.nan, "p": float(test["p_val"].iloc[0]),
                         "p_holm": float(p_holm), "effect": "rank-biserial r", "effect_value": float(test["RBC"].iloc[0]),
                         "ci_low": np.nan, "ci_high": np.nan})
    columns = ["scale", "test", "groups", "statistic", "df", "p", "p_holm", "effect", "effect_value", "ci_low", "ci_high"]
    frame = pd.DataFrame(rows)
    for column in columns:
        if column not in frame:
            frame[column] = np.nan
    return frame[columns + [c for c in frame.columns if c not in columns]]


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
    participants: pd.DataFrame, answers: pd.DataFrame, *, conditions: list[str], include_pilot: bool = False
) -> Analysis:
    """The whole analysis: exclusions, scale scores, descriptives, reliability, comparisons, mixed models."""
    excluded = exclusions(participants, include_pilot=include_pilot)
    included = [p for p in participants["participant"] if p not in set(excluded["participant"])]
    answers = answers[answers["participant"].isin(included)]
    scores = scale_scores(answers) if len(answers) else pd.DataFrame(columns=["participant", "condition"])
    scales = [c for c in scores.columns if c not in ("participant", "condition")]
    present = [c for c in conditions if c in set(scores["condition"])]
    return Analysis(
        included=included, excluded=excluded, scores=scores, descriptives=descriptives(scores, scales),
        reliability=reliability(answers) if len(answers) else pd.DataFrame(),
        comparisons=comparisons(scores, scales, present) if scales else pd.DataFrame(),
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


def pairs(conditions: list[str]) -> list[tuple[str, str]]:
    return list(combinations(conditions, 2))
