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


#: Resamples of the rank-biserial bootstrap interval, and the seed that makes it repeatable (reported with it).
BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 20_240_601


def mann_whitney(x: np.ndarray, y: np.ndarray, alternative: str = "two-sided"):
    """Mann–Whitney U of ``x`` against ``y`` as R's wilcox.test computes it: the exact distribution when both
    groups are under 50 and nothing is tied, otherwise the normal approximation with continuity correction."""
    from scipy import stats

    tied = len(np.unique(np.concatenate([x, y]))) < len(x) + len(y)
    exact = len(x) < 50 and len(y) < 50 and not tied
    return stats.mannwhitneyu(x, y, alternative=alternative, method="exact" if exact else "asymptotic")


def confirmatory(scores: pd.DataFrame, outcomes: list[str], conditions: list[str], *, test: str = "welch",
                 direction: str = "two-sided", alpha: float = 0.05) -> pd.DataFrame:
    """The preregistered tests: each primary outcome, each condition against the reference (the first), by the
    planned test and direction; Holm's correction across the whole primary family; whether the planned
    hypothesis is supported (corrected p below alpha)."""
    from scipy import stats

    columns = ["outcome", "contrast", "test", "alternative", "n_condition", "n_reference", "estimate", "effect",
               "statistic", "df", "p", "p_holm", "alpha", "supported"]
    rows = []
    reference = conditions[0] if conditions else ""
    for outcome in outcomes:
        if outcome not in scores:
            continue
        y = scores.loc[scores["condition"] == reference, outcome].dropna().to_numpy(float)
        for condition in conditions[1:]:
            x = scores.loc[scores["condition"] == condition, outcome].dropna().to_numpy(float)
            if len(x) < 2 or len(y) < 2:
                continue
            if test == "mann_whitney":
                result = mann_whitney(x, y, alternative=direction)
                estimate, effect, df = float(_rank_biserial(x, y)), "rank-biserial r", np.nan
            else:
                result = stats.ttest_ind(x, y, equal_var=False, alternative=direction)
                estimate, effect, df = float(np.mean(x) - np.mean(y)), "mean difference", float(result.df)
            rows.append({"outcome": outcome, "contrast": f"{condition} − {reference}",
                         "test": "Mann–Whitney U" if test == "mann_whitney" else "Welch's t", "alternative": direction,
                         "n_condition": len(x), "n_reference": len(y), "estimate": estimate, "effect": effect,
                         "statistic": float(result.statistic), "df": df, "p": float(result.pvalue)})
    holm = _holm([row["p"] for row in rows])
    for row, p_holm in zip(rows, holm, strict=True):
        row.update(p_holm=p_holm, alpha=alpha, supported=p_holm < alpha)
    return pd.DataFrame(rows, columns=columns)


def _rank_biserial(x: np.ndarray, y: np.ndarray, axis=-1):
    """2 U_x / (n_x n_y) − 1: positive when ``x`` (the condition) tends to be higher than ``y`` (the reference)."""
    from scipy import stats

    u = stats.mannwhitneyu(x, y, axis=axis, alternative="two-sided").statistic
    return 2 * u / (x.shape[axis] * y.shape[axis]) - 1


def _rank_biserial_ci(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """95 % BCa bootstrap interval of the rank-biserial correlation: BOOTSTRAP_RESAMPLES resamples from the
    recorded BOOTSTRAP_SEED, so the report is the same every time it is made."""
    from scipy import stats

    if len(np.unique(np.concatenate([x, y]))) < 2:
        return np.nan, np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a degenerate resample (all ties) makes BCa warn; the interval stands
        result = stats.bootstrap((x, y), _rank_biserial, n_resamples=BOOTSTRAP_RESAMPLES, method="BCa",
                                 random_state=np.random.default_rng(BOOTSTRAP_SEED))
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def hedges_g(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Hedges' g of ``x`` − ``y`` (pooled SD, exact small-sample correction J) and its 95 % interval: the exact
    bounds of the noncentral t's noncentrality for the observed t (Steiger & Fouladi), scaled to d and by J."""
    from scipy import optimize, special, stats

    n1, n2 = len(x), len(y)
    df = n1 + n2 - 2
    pooled = np.sqrt(((n1 - 1) * np.var(x, ddof=1) + (n2 - 1) * np.var(y, ddof=1)) / df)
    if not pooled > 0:
        return np.nan, np.nan, np.nan  # no spread at all: no standardised difference
    d = (np.mean(x) - np.mean(y)) / pooled
    j = float(np.exp(special.gammaln(df / 2) - np.log(np.sqrt(df / 2)) - special.gammaln((df - 1) / 2)))
    scale = np.sqrt(1 / n1 + 1 / n2)
    t = d / scale

    def bound(q):
        f = lambda ncp: stats.nct.cdf(t, df, ncp) - q  # noqa: E731
        span = 10 + abs(t)
        return optimize.brentq(f, t - span, t + span, xtol=1e-12)

    try:
        return float(j * d), float(j * bound(0.975) * scale), float(j * bound(0.025) * scale)
    except ValueError:  # the noncentral t cannot be evaluated that far out (|t| in the hundreds): no interval
        return float(j * d), np.nan, np.nan


def _welch(x: np.ndarray, y: np.ndarray):
    from scipy import stats

    result = stats.ttest_ind(x, y, equal_var=False)
    interval = result.confidence_interval(0.95)
    return result, float(interval.low), float(interval.high)


def _tost(x: np.ndarray, y: np.ndarray, bound: float) -> tuple[float, float]:
    """Two one-sided Welch t tests of |mean(x) − mean(y)| < ``bound``: (the larger t in absolute terms, p)."""
    from scipy import stats

    vx, vy = np.var(x, ddof=1) / len(x), np.var(y, ddof=1) / len(y)
    se = np.sqrt(vx + vy)
    df = (vx + vy) ** 2 / (vx**2 / (len(x) - 1) + vy**2 / (len(y) - 1))
    diff = np.mean(x) - np.mean(y)
    lower, upper = (diff + bound) / se, (diff - bound) / se
    p = max(stats.t.sf(lower, df), stats.t.cdf(upper, df))
    return float(min(lower, -upper)), float(p)


def _two_groups(scale: str, reference: str, other: str, x: np.ndarray, y: np.ndarray, equivalence_d: float) -> list[dict]:
    """``x``: the condition's scores, ``y``: the reference's; every difference and effect is x − y."""

    groups = f"{other} − {reference}"
    mwu = mann_whitney(x, y)
    low, high = _rank_biserial_ci(x, y)
    welch, diff_low, diff_high = _welch(x, y)
    g, g_low, g_high = hedges_g(x, y)
    pooled = np.sqrt(((len(x) - 1) * np.var(x, ddof=1) + (len(y) - 1) * np.var(y, ddof=1)) / (len(x) + len(y) - 2))
    bound = equivalence_d * pooled
    tost_t, tost_p = _tost(x, y, bound)
    mean_difference = float(np.mean(x) - np.mean(y))
    return [
        {"scale": scale, "test": "Mann–Whitney U", "groups": groups, "statistic": float(mwu.statistic), "df": np.nan,
         "p": float(mwu.pvalue), "effect": "rank-biserial r", "effect_value": float(_rank_biserial(x, y)),
         "ci_low": low, "ci_high": high, "bootstrap_resamples": BOOTSTRAP_RESAMPLES, "bootstrap_seed": BOOTSTRAP_SEED},
        {"scale": scale, "test": "Welch's t", "groups": groups, "statistic": float(welch.statistic),
         "df": float(welch.df), "p": float(welch.pvalue), "effect": "Hedges' g", "effect_value": g,
         "ci_low": g_low, "ci_high": g_high, "mean_difference": mean_difference,
         "mean_difference_ci_low": diff_low, "mean_difference_ci_high": diff_high},
        {"scale": scale, "test": f"TOST equivalence (±{equivalence_d:g} pooled SD)", "groups": groups,
         "statistic": tost_t, "df": np.nan, "p": tost_p, "effect": "equivalence bound", "effect_value": bound,
         "ci_low": np.nan, "ci_high": np.nan, "mean_difference": mean_difference},
    ]


def comparisons(scores: pd.DataFrame, scales: list[str], conditions: list[str], *, equivalence_d: float = 0.5) -> pd.DataFrame:
    """Between conditions, per scale, each difference condition − reference (the first condition, in the study's
    order): two conditions, Mann–Whitney U (rank-biserial r, bootstrap CI), Welch's t (Hedges' g, exact CI) and a
    TOST equivalence test at ±``equivalence_d`` pooled SD; three or more, Kruskal–Wallis (epsilon squared) and
    pairwise Mann–Whitney U with Holm's correction, each r with its interval."""
    from scipy import stats

    rows = []
    for scale in scales:
        data = scores[["condition", scale]].dropna()
        groups = {c: data.loc[data["condition"] == c, scale].to_numpy(float) for c in conditions}
        groups = {c: v for c, v in groups.items() if len(v) >= 2}
        if len(groups) < 2:
            continue
        if len(groups) == 2:
            (a, y), (b, x) = groups.items()
            rows += _two_groups(scale, a, b, x, y, equivalence_d)
            continue
        h, p = stats.kruskal(*groups.values())
        n = sum(len(v) for v in groups.values())
        rows.append({"scale": scale, "test": "Kruskal–Wallis H", "groups": " vs ".join(groups), "statistic": float(h),
                     "df": float(len(groups) - 1), "p": float(p), "effect": "epsilon squared",
                     "effect_value": float(h / (n - 1)), "ci_low": np.nan, "ci_high": np.nan})
        tests = [(a, b, mann_whitney(groups[b], groups[a])) for a, b in pairs(list(groups))]
        holm = _holm([float(t.pvalue) for _a, _b, t in tests])
        for (a, b, test), p_holm in zip(tests, holm, strict=True):
            low, high = _rank_biserial_ci(groups[b], groups[a])
            rows.append({"scale": scale, "test": "Mann–Whitney U (pairwise)", "groups": f"{b} − {a}",
                         "statistic": float(test.statistic), "df": np.nan, "p": float(test.pvalue), "p_holm": p_holm,
                         "effect": "rank-biserial r", "effect_value": float(_rank_biserial(groups[b], groups[a])),
                         "ci_low": low, "ci_high": high, "bootstrap_resamples": BOOTSTRAP_RESAMPLES,
                         "bootstrap_seed": BOOTSTRAP_SEED})
    columns = ["scale", "test", "groups", "statistic", "df", "p", "p_holm", "effect", "effect_value", "ci_low", "ci_high"]
    frame = pd.DataFrame(rows)
    for column in columns:
        if column not in frame:
            frame[column] = np.nan
    return frame[columns + [c for c in frame.columns if c not in columns]]


def _holm(p_values: list[float]) -> list[float]:
    from statsmodels.stats.multitest import multipletests

    return [float(p) for p in multipletests(p_values, method="holm")[1]] if p_values else []


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


def pairs(conditions: list[str]) -> list[tuple[str, str]]:
    return list(combinations(conditions, 2))
