"""What participants understood: the understanding tests (forward simulation) analysed. Trials in, tables out;
no Django here.

- Accuracy per condition and test: the mean of the participants' own accuracies (the share of their trials they
  answered as the model would), with a t interval over participants (trials of one person are not independent)
  and a one-sample t test against guessing (0.5).
- Improvement per condition: each participant's post-test minus pre-test accuracy, its mean, t interval and
  paired test.
- A logistic mixed model, correct ~ condition × phase + (1 | participant) + (1 | trial item), fitted by R's
  lme4::glmer (Laplace approximation) through Rscript, as a reviewer would fit it; where R is missing, a GEE
  logistic model with robust standard errors (statsmodels), labelled so. The condition × post terms say whether a condition
  improved more than the reference condition.
- Do people who say they understand predict better? Per condition, Spearman's rho between each transparency
  or understanding scale and post-test accuracy.
- Power: participants per condition to detect a difference in post-test accuracy, from two proportions with
  a design effect for the trials each participant answers.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from research import rscript

#: Columns the trials table must have (research.export_trials' names; ``item`` is the trial item).
TRIAL_COLUMNS = ["participant", "condition", "phase", "item", "correct"]
PHASES = ("pre", "post")
CHANCE = 0.5

GLMER_SCRIPT = r"""
args <- commandArgs(trailingOnly = TRUE)
folder <- args[1]
suppressPackageStartupMessages(library(lme4))
trials <- read.csv(file.path(folder, "trials.csv"), stringsAsFactors = FALSE)
trials$condition <- factor(trials$condition, levels = readLines(file.path(folder, "conditions.txt")))
trials$phase <- factor(trials$phase, levels = c("pre", "post"))
trials <- droplevels(trials)
both <- nlevels(trials$phase) > 1
model_formula <- if (both) {
  correct ~ condition * phase + (1 | participant) + (1 | item)
} else {
  correct ~ condition + (1 | participant) + (1 | item)
}
model <- glmer(model_formula, data = trials, family = binomial,
               control = glmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 2e5)))
estimates <- summary(model)$coefficients
fixed <- data.frame(term = rownames(estimates), estimate = estimates[, 1], std_error = estimates[, 2],
                    statistic = estimates[, 3], p_value = estimates[, 4], row.names = NULL)
fixed$ci_low <- fixed$estimate - qnorm(0.975) * fixed$std_error
fixed$ci_high <- fixed$estimate + qnorm(0.975) * fixed$std_error
write.csv(fixed, file.path(folder, "fixed.csv"), row.names = FALSE)
random <- as.data.frame(VarCorr(model))
write.csv(data.frame(group = random$grp, sd = random$sdcor), file.path(folder, "random.csv"), row.names = FALSE)
messages <- model@optinfo$conv$lme4$messages
write.csv(data.frame(singular = isSingular(model), n = nrow(trials),
                     warning = if (is.null(messages)) "" else paste(messages, collapse = "; ")),
          file.path(folder, "fit.csv"), row.names = FALSE)
"""


@dataclass
class SimulationAnalysis:
    accuracy: pd.DataFrame  # condition, phase (pre, post, improvement), participants, trials, correct, accuracy, ...
    model: pd.DataFrame  # term, estimate, std_error, statistic, p_value, ci_low, ci_high, method, ...
    relation: pd.DataFrame  # condition, scale, n, rho, p_value, ci_low, ci_high
    method: str = ""
    findings: list[str] = field(default_factory=list)


def _t_interval(values: np.ndarray) -> tuple[float, float, float]:
    """(low, high, p against 0) of the mean of ``values``; NaN with fewer than two."""
    if len(values) < 2 or np.std(values, ddof=1) == 0:
        mean = float(np.mean(values)) if len(values) else math.nan
        return mean, mean, math.nan
    low, high = stats.t.interval(0.95, len(values) - 1, loc=np.mean(values), scale=stats.sem(values))
    return float(low), float(high), float(stats.ttest_1samp(values, 0.0).pvalue)


def accuracy_table(trials: pd.DataFrame, conditions: list[str]) -> pd.DataFrame:
    """Accuracy per condition and test, and each condition's improvement (post − pre)."""
    trials = trials.assign(correct=trials["correct"].astype(float))
    per_person = trials.groupby(["condition", "phase", "participant"])["correct"].agg(["mean", "size", "sum"]).reset_index()
    rows = []
    for condition in conditions:
        mine = per_person[per_person["condition"] == condition]
        for phase in PHASES:
            people = mine[mine["phase"] == phase]
            if people.empty:
                continue
            values = people["mean"].to_numpy()
            low, high, _p = _t_interval(values)
            _low, _high, p_chance = _t_interval(values - CHANCE)
            rows.append({
                "condition": condition, "phase": phase, "participants": len(people), "trials": int(people["size"].sum()),
                "correct": int(people["sum"].sum()), "accuracy": float(values.mean()), "ci_low": max(0.0, low),
                "ci_high": min(1.0, high), "p_value": p_chance,
                "interval": "95% t interval over participants' accuracies; p: one-sample t against guessing (0.5)",
            })
        paired = mine.pivot(index="participant", columns="phase", values="mean").dropna()
        if {"pre", "post"} <= set(paired.columns) and len(paired):
            change = (paired["post"] - paired["pre"]).to_numpy()
            low, high, p = _t_interval(change)
            rows.append({
                "condition": condition, "phase": "improvement", "participants": len(change), "trials": math.nan,
                "correct": math.nan, "accuracy": float(change.mean()), "ci_low": low, "ci_high": high, "p_value": p,
                "interval": "post-test minus pre-test accuracy per participant: mean, 95% t interval, paired t test",
            })
    return pd.DataFrame(rows, columns=["condition", "phase", "participants", "trials", "correct", "accuracy",
                                       "ci_low", "ci_high", "p_value", "interval"])


def _term_name(raw: str, conditions: list[str]) -> str:
    """R's ``conditionfeatures:phasepost`` as ``condition[features]:phase[post]``."""
    parts = []
    for part in raw.split(":"):
        if part.startswith("condition") and part.removeprefix("condition") in conditions:
            parts.append(f"condition[{part.removeprefix('condition')}]")
        elif part.startswith("phase"):
            parts.append(f"phase[{part.removeprefix('phase')}]")
        else:
            parts.append("(Intercept)" if part in ("(Intercept)", "Intercept") else part)
    return ":".join(parts)


def _glmer(trials: pd.DataFrame, conditions: list[str]) -> tuple[pd.DataFrame, str]:
    data = trials[TRIAL_COLUMNS].assign(correct=trials["correct"].astype(int))
    tables = rscript.run(GLMER_SCRIPT, {"trials": data}, texts={"conditions.txt": "\n".join(conditions) + "\n"})
    fixed = tables["fixed"]
    fixed["term"] = [_term_name(t, conditions) for t in fixed["term"]]
    fit = tables["fit"].iloc[0]
    random = {row.group: row.sd for row in tables["random"].itertuples()}
    notes = [f"random-intercept SD: participant {random.get('participant', math.nan):.3f}, "
             f"trial item {random.get('item', math.nan):.3f}"]
    if bool(fit["singular"]):
        notes.append("singular fit (a random-effect variance estimated at 0)")
    if isinstance(fit["warning"], str) and fit["warning"]:
        notes.append(f"convergence: {fit['warning']}")
    return fixed, "lme4::glmer (R, Laplace approximation, Wald z tests); " + "; ".join(notes)


def _gee(trials: pd.DataFrame, conditions: list[str], reason: str) -> tuple[pd.DataFrame, str]:
    """Where R is missing: the same fixed effects as a marginal model (GEE, logit link, exchangeable correlation
    within participant, robust standard errors): honest intervals, population-averaged log-odds (closer to 0
    than glmer's), no trial-item effect."""
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    data = trials.assign(correct=trials["correct"].astype(float),
                         condition=pd.Categorical(trials["condition"], categories=conditions),
                         phase=pd.Categorical(trials["phase"], categories=list(PHASES)))
    both = data["phase"].nunique() > 1
    formula = "correct ~ C(condition)" + (" * C(phase)" if both else "")
    result = smf.gee(formula, "participant", data, family=sm.families.Binomial(),
                     cov_struct=sm.cov_struct.Exchangeable()).fit()
    interval = result.conf_int()
    fixed = pd.DataFrame({
        "term": [name.replace("C(condition)[T.", "condition[").replace("C(phase)[T.", "phase[")
                 .replace("Intercept", "(Intercept)") for name in result.params.index],
        "estimate": result.params.to_numpy(), "std_error": result.bse.to_numpy(), "statistic": result.tvalues.to_numpy(),
        "p_value": result.pvalues.to_numpy(), "ci_low": interval[0].to_numpy(), "ci_high": interval[1].to_numpy(),
    })
    return fixed, (f"GEE logistic model (statsmodels; exchangeable within participant, robust SE; no trial-item "
                   f"effect) in place of lme4::glmer, because R could not be used: {reason}")


def mixed_model(trials: pd.DataFrame, conditions: list[str]) -> tuple[pd.DataFrame, str]:
    """correct ~ condition × phase + (1 | participant) + (1 | item): R's glmer, or statsmodels where R is absent."""
    used = [c for c in conditions if c in set(trials["condition"])]
    if len(trials) < 10 or trials["participant"].nunique() < 4 or trials["correct"].nunique() < 2:
        return pd.DataFrame(columns=["term", "estimate", "std_error", "statistic", "p_value", "ci_low", "ci_high"]), (
            "not fitted: too few trials, participants or answers of both kinds")
    reason = rscript.missing(("lme4",))
    if not reason:
        try:
            return _glmer(trials, used)
        except rscript.RError as error:
            reason = str(error)
    return _gee(trials, used, reason)


def understanding_vs_rating(trials: pd.DataFrame, scores: pd.DataFrame, conditions: list[str]) -> pd.DataFrame:
    """Per condition and each scale of perceived transparency or understanding: Spearman's rho with post-test
    accuracy, its p-value and a 95 % interval (Fisher z, with Bonett and Wright's variance)."""
    columns = ["condition", "scale", "n", "rho", "p_value", "ci_low", "ci_high"]
    scales = [c for c in scores.columns if any(word in c for word in ("transparen", "understand"))]
    post = trials[trials["phase"] == "post"].assign(correct=lambda t: t["correct"].astype(float))
    accuracy = post.groupby("participant")["correct"].mean().rename("post_accuracy")
    joined = scores.join(accuracy, on="participant", how="inner")
    rows = []
    for condition in conditions:
        mine = joined[joined["condition"] == condition]
        for scale in scales:
            pair = mine[[scale, "post_accuracy"]].dropna()
            n = len(pair)
            if n < 4 or pair[scale].nunique() < 2 or pair["post_accuracy"].nunique() < 2:
                rows.append({"condition": condition, "scale": scale, "n": n, "rho": math.nan, "p_value": math.nan,
                             "ci_low": math.nan, "ci_high": math.nan})
                continue
            rho, p = stats.spearmanr(pair[scale], pair["post_accuracy"])
            half = 1.959964 * math.sqrt((1 + rho**2 / 2) / (n - 3))
            centre = math.atanh(max(-0.999999, min(0.999999, rho)))
            rows.append({"condition": condition, "scale": scale, "n": n, "rho": float(rho), "p_value": float(p),
                         "ci_low": math.tanh(centre - half), "ci_high": math.tanh(centre + half)})
    return pd.DataFrame(rows, columns=columns)


def findings(accuracy: pd.DataFrame, model: pd.DataFrame, reference: str, *, alpha: float = 0.05) -> list[str]:
    """What the tests say, in plain words: each condition's accuracy and change, and which condition helped
    participants predict the model more than the reference did (the model's condition × post terms)."""
    lines = []
    for condition in dict.fromkeys(accuracy["condition"]):
        rows = accuracy[accuracy["condition"] == condition].set_index("phase")
        parts = [f"{phase}-test {rows.loc[phase, 'accuracy']:.0%} "
                 f"[{rows.loc[phase, 'ci_low']:.0%}, {rows.loc[phase, 'ci_high']:.0%}]"
                 for phase in PHASES if phase in rows.index]
        line = f"{condition}: " + ", ".join(parts)
        if "improvement" in rows.index:
            change = rows.loc["improvement"]
            line += (f"; change {change['accuracy']:+.0%} [{change['ci_low']:+.0%}, {change['ci_high']:+.0%}], "
                     f"paired p = {change['p_value']:.3g}")
        lines.append(line + ".")
    interactions = model[model["term"].str.contains(r"condition\[.*\]:phase\[post\]", regex=True)] if len(model) else model
    helped = []
    for row in interactions.itertuples():
        condition = row.term.split("]")[0].removeprefix("condition[")
        if row.p_value < alpha and row.estimate > 0:
            helped.append(condition)
            lines.append(f"In the mixed model, {condition} improved more than {reference} (log-odds "
                         f"{row.estimate:+.2f} [{row.ci_low:+.2f}, {row.ci_high:+.2f}], p = {row.p_value:.3g}).")
        elif row.p_value < alpha:
            lines.append(f"In the mixed model, {condition} improved less than {reference} (log-odds "
                         f"{row.estimate:+.2f}, p = {row.p_value:.3g}).")
    if len(interactions) and not helped:
        lines.append(f"No condition helped participants predict the model significantly more than {reference} "
                     f"(condition × post terms, alpha {alpha}); this is not evidence that they help equally.")
    elif helped:
        lines.append(f"Conditions that helped participants predict the model more than {reference}: "
                     f"{', '.join(helped)}.")
    return lines


def analyse_simulation(trials: pd.DataFrame, scores: pd.DataFrame, conditions: list[str]) -> SimulationAnalysis:
    """``trials``: one row per answered trial of the analysed participants (TRIAL_COLUMNS); ``scores``: the
    analysis's per-participant scale scores (participant, condition, one column per scale)."""
    accuracy = accuracy_table(trials, conditions)
    model, method = mixed_model(trials, conditions)
    if len(model):
        model = model.assign(method=method, n_participants=trials["participant"].nunique(), n_trials=len(trials))
    relation = understanding_vs_rating(trials, scores, conditions)
    used = [c for c in conditions if c in set(trials["condition"])]
    return SimulationAnalysis(accuracy, model, relation, method,
                              findings(accuracy, model, used[0]) if used else [])


def participants_for_accuracy(*, base: float, difference: float, trials: int, icc: float = 0.1, alpha: float = 0.05,
                              power: float = 0.8) -> dict:
    """Participants per condition to detect ``base`` vs ``base + difference`` post-test accuracy (two-sided):
    trials needed for two independent proportions (Cohen's h, statsmodels), inflated by the design effect
    1 + (trials − 1) × icc of ``trials`` answers per participant, divided among participants."""
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    target = min(0.999, base + difference)
    h = abs(proportion_effectsize(target, base))
    per_group_trials = NormalIndPower().solve_power(effect_size=h, alpha=alpha, power=power, ratio=1.0)
    design_effect = 1 + (max(trials, 1) - 1) * icc
    per_condition = math.ceil(per_group_trials * design_effect / max(trials, 1))
    return {"per_condition": per_condition, "cohens_h": round(float(h), 4), "design_effect": round(design_effect, 3),
            "base": base, "difference": difference, "trials": trials, "icc": icc, "alpha": alpha, "power": power}
