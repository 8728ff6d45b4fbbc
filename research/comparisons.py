"""Comparing conditions on participants' scale scores, unrounded, each difference condition − reference (the first
condition in the study's order): Welch with Hedges' g (exact interval), Mann–Whitney with the rank-biserial r (BCa
bootstrap from a recorded seed), TOST equivalence, Kruskal–Wallis with epsilon squared and Holm-corrected pairs, and
the preregistered confirmatory tests. scipy and statsmodels; every figure is checked against R in the tests. No Django.
"""
from __future__ import annotations

import warnings
from itertools import combinations

import numpy as np
import pandas as pd

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


def pairs(conditions: list[str]) -> list[tuple[str, str]]:
    return list(combinations(conditions, 2))
