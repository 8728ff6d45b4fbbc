"""Per-recommendation ratings modelled as the design asks, in R (lmerTest, ordinal) through Rscript. No Django.

For each rating item, with the first condition (in the study's order) as the reference and every estimate signed
condition − reference:

- ``lmerTest``: rating ~ condition + (1 | participant) + (1 | track), REML, t tests with Satterthwaite's degrees
  of freedom and t intervals: participants rate several recommendations, and the same tracks recur across
  participants (without a track rated twice, the track term is left out: it would be the residual);
- ``lmerTest + rank``: the same with the recommendation's rank as a covariate;
- ``clmm``: a cumulative link mixed model (ordinal::clmm, logit) of the rating as an ordered category, with the
  same random intercepts: a Likert answer is ordinal; its estimates are log-odds of a higher answer;
- with three or more conditions, the omnibus likelihood-ratio test of condition (ML fits with and without it)
  and every pairwise contrast (the lmerTest model refitted with each reference), Holm-corrected per item.

Where R or its packages are missing: rating ~ condition + (1 | participant) by statsmodels (REML, z tests), with
``method`` saying so and why.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from research import rscript

COLUMNS = ["outcome", "term", "estimate", "std_error", "df", "statistic", "p_value", "ci_low", "ci_high", "method",
           "reference", "p_holm", "n_participants", "n_ratings"]
PACKAGES = ("lmerTest", "ordinal")

SCRIPT = r"""
args <- commandArgs(trailingOnly = TRUE)
folder <- args[1]
suppressPackageStartupMessages({library(lmerTest); library(ordinal)})
ratings <- read.csv(file.path(folder, "ratings.csv"), stringsAsFactors = FALSE)
order <- readLines(file.path(folder, "conditions.txt"))
rows <- list()
keep <- function(frame) rows[[length(rows) + 1]] <<- frame
t_rows <- function(fit, item, method, reference) {
  s <- summary(fit)$coefficients
  data.frame(outcome = item, term = rownames(s), estimate = s[, "Estimate"], std_error = s[, "Std. Error"],
             df = s[, "df"], statistic = s[, "t value"], p_value = s[, "Pr(>|t|)"],
             ci_low = s[, "Estimate"] - qt(0.975, s[, "df"]) * s[, "Std. Error"],
             ci_high = s[, "Estimate"] + qt(0.975, s[, "df"]) * s[, "Std. Error"],
             method = method, reference = reference, row.names = NULL, stringsAsFactors = FALSE)
}
for (item in unique(ratings$item)) {
  x <- ratings[ratings$item == item, ]
  levels <- order[order %in% x$condition]
  if (length(levels) < 2) next
  x$condition <- factor(x$condition, levels = levels)
  x$participant <- factor(x$participant)
  x$track <- factor(x$track)
  reference <- levels[1]
  # A track effect needs tracks rated more than once; without that, (1 | track) is the residual itself.
  random <- if (length(unique(x$track)) < nrow(x)) "(1 | participant) + (1 | track)" else "(1 | participant)"
  model <- function(fixed) as.formula(paste(fixed, "+", random))
  fit <- lmer(model("rating ~ condition"), data = x, REML = TRUE)
  keep(t_rows(fit, item, "lmerTest", reference))
  ranked <- lmer(model("rating ~ condition + rank"), data = x, REML = TRUE)
  keep(t_rows(ranked, item, "lmerTest + rank", reference))
  ordinal_fit <- clmm(model("factor(rating, ordered = TRUE) ~ condition"), data = x, link = "logit")
  s <- summary(ordinal_fit)$coefficients
  betas <- grepl("^condition", rownames(s))
  keep(data.frame(outcome = item, term = rownames(s)[betas], estimate = s[betas, 1], std_error = s[betas, 2],
                  df = NA, statistic = s[betas, 3], p_value = s[betas, 4],
                  ci_low = s[betas, 1] - qnorm(0.975) * s[betas, 2], ci_high = s[betas, 1] + qnorm(0.975) * s[betas, 2],
                  method = "clmm", reference = reference, row.names = NULL, stringsAsFactors = FALSE))
  if (length(levels) > 2) {
    full <- lmer(model("rating ~ condition"), data = x, REML = FALSE)
    none <- lmer(model("rating ~ 1"), data = x, REML = FALSE)
    test <- anova(none, full)
    keep(data.frame(outcome = item, term = "condition", estimate = NA, std_error = NA, df = test$Df[2],
                    statistic = test$Chisq[2], p_value = test[["Pr(>Chisq)"]][2], ci_low = NA, ci_high = NA,
                    method = "likelihood-ratio test (ML)", reference = reference, stringsAsFactors = FALSE))
    pairs <- NULL
    for (i in 1:(length(levels) - 1)) {
      x$condition <- relevel(factor(x$condition, levels = levels), ref = levels[i])
      refit <- t_rows(lmer(model("rating ~ condition"), data = x, REML = TRUE),
                      item, "lmerTest pairwise (Holm)", levels[i])
      later <- paste0("condition", levels[(i + 1):length(levels)])
      pairs <- rbind(pairs, refit[refit$term %in% later, ])
    }
    pairs$p_holm <- p.adjust(pairs$p_value, method = "holm")
    keep(pairs)
  }
}
# rbind needs the same columns: only the pairwise rows carry a Holm-corrected p.
rows <- lapply(rows, function(f) { if (!("p_holm" %in% names(f))) f$p_holm <- NA; f })
out <- if (length(rows)) do.call(rbind, rows) else data.frame(outcome = character())
write.csv(out, file.path(folder, "models.csv"), row.names = FALSE)
"""


def _term(raw: str, conditions: list[str]) -> str:
    """R's ``conditionfeatures`` as ``condition[features]``; other terms as they are."""
    if raw.startswith("condition") and raw.removeprefix("condition") in conditions:
        return f"condition[{raw.removeprefix('condition')}]"
    return raw


def _counts(ratings: pd.DataFrame) -> dict[str, tuple[int, int]]:
    return {item: (data["participant"].nunique(), len(data)) for item, data in ratings.groupby("item")}


def _r_models(ratings: pd.DataFrame, conditions: list[str]) -> pd.DataFrame:
    tables = rscript.run(SCRIPT, {"ratings": ratings}, texts={"conditions.txt": "\n".join(conditions) + "\n"})
    models = tables["models"]
    if models.empty:
        return pd.DataFrame(columns=COLUMNS)
    models["term"] = [_term(t, conditions) for t in models["term"]]
    counts = _counts(ratings)
    models["n_participants"] = [counts[o][0] for o in models["outcome"]]
    models["n_ratings"] = [counts[o][1] for o in models["outcome"]]
    return models[COLUMNS]


def _statsmodels(ratings: pd.DataFrame, conditions: list[str], reason: str) -> pd.DataFrame:
    import statsmodels.formula.api as smf

    rows = []
    for item, data in ratings.groupby("item"):
        data = data[data["condition"].isin(conditions)]
        reference = next(c for c in conditions if c in set(data["condition"]))
        formula = f"rating ~ C(condition, Treatment(reference={reference!r}))"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence chatter on tiny pilots; the numbers are reported as found
            fit = smf.mixedlm(formula, data, groups=data["participant"]).fit(reml=True)
        intervals = fit.conf_int()
        for term in fit.fe_params.index:
            rows.append({
                "outcome": item, "term": term.replace(f"C(condition, Treatment(reference={reference!r}))", "condition")
                .replace("[T.", "[").replace("Intercept", "(Intercept)"),
                "estimate": fit.fe_params[term], "std_error": fit.bse_fe[term], "df": np.nan,
                "statistic": fit.tvalues[term], "p_value": fit.pvalues[term], "ci_low": intervals.loc[term, 0],
                "ci_high": intervals.loc[term, 1],
                "method": f"statsmodels MixedLM (REML, z tests, no track effect) because R could not be used: {reason}",
                "reference": reference, "p_holm": np.nan, "n_participants": data["participant"].nunique(),
                "n_ratings": len(data),
            })
    return pd.DataFrame(rows, columns=COLUMNS)


def rating_models(ratings: pd.DataFrame, conditions: list[str]) -> pd.DataFrame:
    """``ratings``: participant, condition, item, rating (reverse-coded items reversed), rank, track; one row
    per rating of the analysed participants. Items rated in fewer than two conditions, or by fewer than three
    participants, are left out."""
    ratings = ratings[ratings["condition"].isin(conditions)]
    usable = [item for item, data in ratings.groupby("item")
              if data["condition"].nunique() >= 2 and data["participant"].nunique() >= 3]
    ratings = ratings[ratings["item"].isin(usable)]
    if ratings.empty:
        return pd.DataFrame(columns=COLUMNS)
    used = [c for c in conditions if c in set(ratings["condition"])]
    reason = rscript.missing(PACKAGES)
    if not reason:
        try:
            return _r_models(ratings, used)
        except rscript.RError as error:
            reason = str(error)
    return _statsmodels(ratings, used, reason)
