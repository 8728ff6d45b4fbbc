"""Every figure of the per-participant comparisons agrees with R to 1e-6 (relative), R run here on the same
scores: Welch's t and its interval, Wilcoxon's W and p, Kruskal–Wallis, Hedges' g with its exact interval,
Cronbach's alpha with Feldt's interval, Holm, and the TOST equivalence test."""
import subprocess

import numpy as np
import pandas as pd
import pytest

from research import analysis, rscript

pytestmark = pytest.mark.skipif(bool(rscript.missing(())), reason="R is not installed")

R_SCRIPT = r"""
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
x <- d$score[d$condition == "features"]; y <- d$score[d$condition == "control"]; z <- d$score[d$condition == "tags"]
w <- t.test(x, y)
u <- suppressWarnings(wilcox.test(x, y))
k <- kruskal.test(list(y, x, z))
n1 <- length(x); n2 <- length(y); df <- n1 + n2 - 2
sp <- sqrt(((n1 - 1) * var(x) + (n2 - 1) * var(y)) / df)
d_ <- (mean(x) - mean(y)) / sp
j <- exp(lgamma(df / 2) - log(sqrt(df / 2)) - lgamma((df - 1) / 2))
t_ <- d_ / sqrt(1 / n1 + 1 / n2)
ncp <- function(q) uniroot(function(n) pt(t_, df, n) - q, c(t_ - 20, t_ + 20), tol = 1e-12)$root
items <- as.matrix(read.csv(args[2]))
k_ <- ncol(items); a <- k_ / (k_ - 1) * (1 - sum(apply(items, 2, var)) / var(rowSums(items)))
nn <- nrow(items)
bound <- 0.4 * sp
lower <- t.test(x, y, mu = -bound, alternative = "greater"); upper <- t.test(x, y, mu = bound, alternative = "less")
pw <- c(suppressWarnings(wilcox.test(x, y))$p.value, suppressWarnings(wilcox.test(z, y))$p.value,
        suppressWarnings(wilcox.test(z, x))$p.value)
out <- c(welch_t = unname(w$statistic), welch_df = unname(w$parameter), welch_p = w$p.value,
         welch_low = w$conf.int[1], welch_high = w$conf.int[2], w = unname(u$statistic), w_p = u$p.value,
         h = unname(k$statistic), h_p = k$p.value, g = j * d_, g_low = j * ncp(0.975) * sqrt(1 / n1 + 1 / n2),
         g_high = j * ncp(0.025) * sqrt(1 / n1 + 1 / n2), alpha = a,
         alpha_low = 1 - (1 - a) * qf(0.975, nn - 1, (nn - 1) * (k_ - 1)),
         alpha_high = 1 - (1 - a) * qf(0.025, nn - 1, (nn - 1) * (k_ - 1)),
         tost_p = max(lower$p.value, upper$p.value), holm = p.adjust(pw, "holm"))
write.csv(data.frame(name = names(out), value = unname(out)), args[3], row.names = FALSE)
"""


def test_the_comparisons_agree_with_r(tmp_path):
    rng = np.random.default_rng(5)
    scores = pd.DataFrame(
        [{"participant": f"{c}{i}", "condition": c, "trust": float(np.round(rng.normal(mu, 1.1), 3))}
         for c, mu, n in (("control", 4.0, 23), ("features", 4.7, 27), ("tags", 4.2, 25)) for i in range(n)]
    )
    items = pd.DataFrame(rng.integers(1, 8, (30, 4)) + rng.integers(0, 3, (30, 1)), columns=list("abcd"))
    scores.rename(columns={"trust": "score"}).to_csv(tmp_path / "scores.csv", index=False)
    items.to_csv(tmp_path / "items.csv", index=False)
    (tmp_path / "check.R").write_text(R_SCRIPT)
    subprocess.run(["Rscript", "--vanilla", str(tmp_path / "check.R"), str(tmp_path / "scores.csv"),
                    str(tmp_path / "items.csv"), str(tmp_path / "out.csv")], check=True, capture_output=True)
    r = dict(pd.read_csv(tmp_path / "out.csv").itertuples(index=False))

    two = analysis.comparisons(scores[scores["condition"] != "tags"], ["trust"], ["control", "features"],
                               equivalence_d=0.4).set_index("test")
    welch, mwu = two.loc["Welch's t"], two.loc["Mann–Whitney U"]
    assert welch["groups"] == "features − control"
    exact = pytest.approx
    assert (welch["statistic"], welch["df"], welch["p"]) == exact((r["welch_t"], r["welch_df"], r["welch_p"]), rel=1e-6)
    assert (welch["mean_difference_ci_low"], welch["mean_difference_ci_high"]) == exact(
        (r["welch_low"], r["welch_high"]), rel=1e-6)
    assert (welch["effect_value"], welch["ci_low"], welch["ci_high"]) == exact((r["g"], r["g_low"], r["g_high"]), rel=1e-6)
    assert (mwu["statistic"], mwu["p"]) == exact((r["w"], r["w_p"]), rel=1e-6)
    assert two.loc["TOST equivalence (±0.4 pooled SD)", "p"] == exact(r["tost_p"], rel=1e-6)

    three = analysis.comparisons(scores, ["trust"], ["control", "features", "tags"])
    kruskal = three[three["test"] == "Kruskal–Wallis H"].iloc[0]
    assert (kruskal["statistic"], kruskal["p"]) == exact((r["h"], r["h_p"]), rel=1e-6)
    holm = three[three["test"] == "Mann–Whitney U (pairwise)"]["p_holm"].to_numpy()
    assert holm == exact([r["holm1"], r["holm2"], r["holm3"]], rel=1e-6)

    alpha = analysis.cronbach_alpha(items.to_numpy(float))
    assert alpha == exact((r["alpha"], r["alpha_low"], r["alpha_high"]), rel=1e-6)
