"""Per-recommendation ratings modelled in R: lmerTest (Satterthwaite), the rank model, clmm, the omnibus
likelihood-ratio test and Holm-corrected pairs, each checked against R run independently on the same ratings."""
import subprocess

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from research import rating_models, rscript

CONDITIONS = ["control", "features", "spectrogram"]
EFFECT = {"control": 0.0, "features": 1.0, "spectrogram": 0.3}
needs_r = pytest.mark.skipif(bool(rscript.missing(rating_models.PACKAGES)),
                             reason="R with lmerTest and ordinal is not installed")


def planted(seed=0, n=12, items=("liking", "understand_why")) -> pd.DataFrame:
    """Ratings 1-7 of five recommendations each; tracks recur across participants; rank lowers a rating."""
    rng = np.random.default_rng(seed)
    tracks = rng.normal(0, 0.5, 25)
    rows = []
    for condition, effect in EFFECT.items():
        for person in range(n):
            level = rng.normal(0, 0.8)
            for rank in range(1, 6):
                track = int(rng.integers(25))
                for item in items:
                    value = 4 + effect + level + tracks[track] - 0.1 * rank + rng.normal(0, 0.8)
                    rows.append({"participant": f"{condition}{person}", "condition": condition, "item": item,
                                 "rating": int(np.clip(round(value), 1, 7)), "rank": rank, "track": f"t{track}"})
    return pd.DataFrame(rows)


INDEPENDENT_R = r"""
args <- commandArgs(trailingOnly = TRUE)
suppressPackageStartupMessages({library(lmerTest); library(ordinal)})
d <- read.csv(args[1])
d <- d[d$item == "understand_why", ]
d$condition <- relevel(factor(d$condition), ref = "control")
m <- lmer(rating ~ condition + (1 | participant) + (1 | track), data = d)
s <- coef(summary(m))
r <- lmer(rating ~ condition + rank + (1 | participant) + (1 | track), data = d)
sr <- coef(summary(r))
o <- clmm(factor(rating, ordered = TRUE) ~ condition + (1 | participant) + (1 | track), data = d)
so <- coef(summary(o))
lrt <- anova(lmer(rating ~ 1 + (1 | participant) + (1 | track), data = d, REML = FALSE),
             lmer(rating ~ condition + (1 | participant) + (1 | track), data = d, REML = FALSE))
d$condition <- relevel(d$condition, ref = "features")
sf <- coef(summary(lmer(rating ~ condition + (1 | participant) + (1 | track), data = d)))
pairs <- c(s["conditionfeatures", 5], s["conditionspectrogram", 5], sf["conditionspectrogram", 5])
out <- data.frame(
  name = c("lmer_est", "lmer_se", "lmer_df", "lmer_p", "rank_est", "rank_df", "clmm_est", "clmm_se", "clmm_p",
           "lrt_chisq", "lrt_p", "pair_fs_est", "holm_1", "holm_2", "holm_3"),
  value = c(s["conditionfeatures", 1], s["conditionfeatures", 2], s["conditionfeatures", 3], s["conditionfeatures", 5],
            sr["rank", 1], sr["rank", 3], so["conditionfeatures", 1], so["conditionfeatures", 2],
            so["conditionfeatures", 4], lrt$Chisq[2], lrt[["Pr(>Chisq)"]][2], sf["conditionspectrogram", 1],
            p.adjust(pairs, "holm")))
write.csv(out, args[2], row.names = FALSE)
"""


@needs_r
def test_every_model_agrees_with_r_run_independently(tmp_path):
    ratings = planted()
    table = rating_models.rating_models(ratings, CONDITIONS)
    data, script, out = tmp_path / "ratings.csv", tmp_path / "check.R", tmp_path / "out.csv"
    ratings.to_csv(data, index=False)
    script.write_text(INDEPENDENT_R)
    subprocess.run(["Rscript", "--vanilla", str(script), str(data), str(out)], check=True, capture_output=True)
    expected = dict(pd.read_csv(out).itertuples(index=False))
    mine = table[table["outcome"] == "understand_why"]

    def row(method, term, reference="control"):
        found = mine[(mine["method"] == method) & (mine["term"] == term) & (mine["reference"] == reference)]
        assert len(found) == 1, (method, term, reference)
        return found.iloc[0]

    lmer = row("lmerTest", "condition[features]")
    assert (lmer["estimate"], lmer["std_error"], lmer["df"], lmer["p_value"]) == pytest.approx(
        (expected["lmer_est"], expected["lmer_se"], expected["lmer_df"], expected["lmer_p"]), rel=1e-6)
    half = stats.t.ppf(0.975, lmer["df"]) * lmer["std_error"]  # a t interval on Satterthwaite's df, not z
    assert (lmer["ci_low"], lmer["ci_high"]) == pytest.approx((lmer["estimate"] - half, lmer["estimate"] + half))
    ranked = row("lmerTest + rank", "rank")
    assert (ranked["estimate"], ranked["df"]) == pytest.approx((expected["rank_est"], expected["rank_df"]), rel=1e-6)
    clmm = row("clmm", "condition[features]")
    assert (clmm["estimate"], clmm["std_error"], clmm["p_value"]) == pytest.approx(
        (expected["clmm_est"], expected["clmm_se"], expected["clmm_p"]), rel=1e-5)
    omnibus = row("likelihood-ratio test (ML)", "condition")
    assert (omnibus["statistic"], omnibus["p_value"], omnibus["df"]) == pytest.approx(
        (expected["lrt_chisq"], expected["lrt_p"], 2), rel=1e-6)
    pair = row("lmerTest pairwise (Holm)", "condition[spectrogram]", reference="features")
    assert pair["estimate"] == pytest.approx(expected["pair_fs_est"], rel=1e-6)
    holm = mine[mine["method"] == "lmerTest pairwise (Holm)"]["p_holm"].to_numpy()
    assert holm == pytest.approx([expected["holm_1"], expected["holm_2"], expected["holm_3"]], rel=1e-6)
    assert lmer["n_participants"] == 36 and lmer["n_ratings"] == 180


@needs_r
def test_the_planted_effect_is_found_and_signed_condition_minus_reference():
    table = rating_models.rating_models(planted(n=25), CONDITIONS)
    features = table[(table["method"] == "lmerTest") & (table["term"] == "condition[features]")]
    assert (features["estimate"] > 0.5).all() and (features["p_value"] < 0.01).all()
    assert (features["ci_low"] < EFFECT["features"]).all() and (features["ci_high"] > EFFECT["features"]).all()


def test_without_r_statsmodels_stands_in_and_says_why(monkeypatch):
    monkeypatch.setattr(rscript, "missing", lambda packages=(): "Rscript is not installed; install it")
    table = rating_models.rating_models(planted(), CONDITIONS)
    assert set(table["method"].str.split(" ").str[0]) == {"statsmodels"}
    assert table["method"].str.contains("Rscript is not installed").all()
    assert set(table["term"]) == {"(Intercept)", "condition[features]", "condition[spectrogram]"}


def test_an_item_rated_in_one_condition_or_by_two_people_is_left_out():
    ratings = planted()
    lonely = ratings[ratings["condition"] == "control"].assign(item="control_only")
    few = ratings[ratings["participant"].isin(["control0", "features0"])].assign(item="two_people")
    table = rating_models.rating_models(pd.concat([ratings, lonely, few]), CONDITIONS)
    assert set(table["outcome"]) == {"liking", "understand_why"}
