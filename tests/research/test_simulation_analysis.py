"""The understanding tests' analysis on planted data: accuracy and intervals, the logistic mixed model (R's
glmer where R is installed, checked against R run independently here), the fallback, power."""
import math
import subprocess

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from research import rscript, simulation_analysis

CONDITIONS = ["control", "features", "spectrogram"]
LIFT = {"control": 0.0, "features": 1.2, "spectrogram": 0.0}  # log-odds gained from pre- to post-test


def planted(seed=0, n=30, k=6, lift=LIFT) -> pd.DataFrame:
    """Trials of ``n`` participants per condition, ``k`` per test, with participant and trial-item effects."""
    rng = np.random.default_rng(seed)
    items = rng.normal(0, 0.5, 40)
    rows = []
    for condition, gain in lift.items():
        for person in range(n):
            ability = rng.normal(0, 0.6)
            for phase in ("pre", "post"):
                for _ in range(k):
                    item = int(rng.integers(40))
                    logit = 0.1 + ability + items[item] + (gain if phase == "post" else 0.0)
                    rows.append({"participant": f"{condition}-{person}", "condition": condition, "phase": phase,
                                 "item": f"i{item}", "correct": bool(rng.random() < 1 / (1 + math.exp(-logit)))})
    return pd.DataFrame(rows)


def test_accuracy_is_the_mean_of_participants_accuracies_with_a_t_interval_and_the_paired_improvement():
    trials = planted()
    table = simulation_analysis.accuracy_table(trials, CONDITIONS).set_index(["condition", "phase"])
    for condition in CONDITIONS:
        mine = trials[trials["condition"] == condition]
        per_person = mine.groupby(["phase", "participant"])["correct"].mean()
        post = per_person["post"].to_numpy()
        row = table.loc[(condition, "post")]
        assert row["accuracy"] == pytest.approx(post.mean())
        low, high = stats.t.interval(0.95, len(post) - 1, loc=post.mean(), scale=stats.sem(post))
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high))
        assert row["p_value"] == pytest.approx(stats.ttest_1samp(post, 0.5).pvalue)
        assert row["trials"] == 180 and row["correct"] == mine[mine["phase"] == "post"]["correct"].sum()
        change = post - per_person["pre"].reindex(per_person["post"].index).to_numpy()
        improvement = table.loc[(condition, "improvement")]
        assert improvement["accuracy"] == pytest.approx(change.mean())
        assert improvement["p_value"] == pytest.approx(stats.ttest_rel(post, post - change).pvalue)
    assert table.loc[("features", "improvement"), "p_value"] < 0.001
    assert table.loc[("control", "improvement"), "p_value"] > 0.05


INDEPENDENT_R = r"""
args <- commandArgs(trailingOnly = TRUE)
suppressPackageStartupMessages(library(lme4))
d <- read.csv(args[1])
d$condition <- relevel(factor(d$condition), ref = "control")
d$phase <- relevel(factor(d$phase), ref = "pre")
m <- glmer(correct ~ condition * phase + (1 | participant) + (1 | item), data = d, family = binomial,
           control = glmerControl(optimizer = "bobyqa"))
s <- coef(summary(m))
write.csv(data.frame(term = rownames(s), estimate = s[, 1], se = s[, 2], p = s[, 4]), args[2], row.names = FALSE)
"""


@pytest.mark.skipif(bool(rscript.missing(("lme4",))), reason="R with lme4 is not installed")
def test_the_mixed_model_is_r_s_glmer_and_recovers_the_planted_improvement(tmp_path):
    trials = planted()
    model, method = simulation_analysis.mixed_model(trials, CONDITIONS)
    assert method.startswith("lme4::glmer")
    # The same model, written independently and run by R on the same trials.
    data, script, out = tmp_path / "trials.csv", tmp_path / "check.R", tmp_path / "out.csv"
    trials.assign(correct=trials["correct"].astype(int)).to_csv(data, index=False)
    script.write_text(INDEPENDENT_R)
    subprocess.run(["Rscript", "--vanilla", str(script), str(data), str(out)], check=True, capture_output=True)
    expected = pd.read_csv(out)
    names = {"(Intercept)": "(Intercept)", "conditionfeatures": "condition[features]",
             "conditionspectrogram": "condition[spectrogram]", "phasepost": "phase[post]",
             "conditionfeatures:phasepost": "condition[features]:phase[post]",
             "conditionspectrogram:phasepost": "condition[spectrogram]:phase[post]"}
    ours = model.set_index("term")
    for row in expected.itertuples():
        term = names[row.term]
        assert ours.loc[term, "estimate"] == pytest.approx(row.estimate, rel=1e-6, abs=1e-9)
        assert ours.loc[term, "std_error"] == pytest.approx(row.se, rel=1e-6)
        assert ours.loc[term, "p_value"] == pytest.approx(row.p, rel=1e-6, abs=1e-12)
    features = ours.loc["condition[features]:phase[post]"]
    assert features["p_value"] < 0.01 and features["ci_low"] < LIFT["features"] < features["ci_high"]
    assert ours.loc["condition[spectrogram]:phase[post]", "p_value"] > 0.05


def test_without_r_a_gee_model_stands_in_and_says_so(monkeypatch):
    monkeypatch.setattr(rscript, "missing", lambda packages=("lme4",): "Rscript is not installed; install it")
    model, method = simulation_analysis.mixed_model(planted(), CONDITIONS)
    assert "GEE" in method and "Rscript is not installed" in method
    features = model.set_index("term").loc["condition[features]:phase[post]"]
    assert features["estimate"] > 0.5 and features["p_value"] < 0.01


def test_the_findings_say_which_condition_helped_participants_predict_the_model(monkeypatch):
    result = simulation_analysis.analyse_simulation(planted(), pd.DataFrame(columns=["participant", "condition"]),
                                                    CONDITIONS)
    text = " ".join(result.findings)
    assert "features improved more than control" in text
    assert "helped participants predict the model more than control: features." in text
    assert "spectrogram improved more" not in text


def test_too_few_participants_fit_no_model_and_say_why():
    model, method = simulation_analysis.mixed_model(planted(n=1), CONDITIONS)
    assert model.empty and method.startswith("not fitted")


def test_the_relation_of_rated_understanding_and_post_test_accuracy_is_spearman_s_rho():
    trials = planted()
    rng = np.random.default_rng(1)
    post = trials[trials["phase"] == "post"].groupby("participant")["correct"].mean()
    scores = pd.DataFrame({"participant": post.index, "condition": [p.split("-")[0] for p in post.index],
                           "perceived_transparency": post.to_numpy() * 4 + rng.normal(0, 1, len(post)),
                           "trust": rng.normal(4, 1, len(post))})
    table = simulation_analysis.understanding_vs_rating(trials, scores, CONDITIONS)
    assert set(table["scale"]) == {"perceived_transparency"}
    row = table[table["condition"] == "features"].iloc[0]
    mine = scores[scores["condition"] == "features"]
    rho, p = stats.spearmanr(mine["perceived_transparency"], post[mine["participant"]].to_numpy())
    assert (row["rho"], row["p_value"], row["n"]) == pytest.approx((rho, p, 30))
    assert row["ci_low"] < row["rho"] < row["ci_high"]


def test_power_for_accuracy_inflates_two_proportions_by_the_design_effect():
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    one = simulation_analysis.participants_for_accuracy(base=0.6, difference=0.15, trials=1, icc=0.0)
    n = NormalIndPower().solve_power(effect_size=proportion_effectsize(0.75, 0.6), alpha=0.05, power=0.8)
    assert one["per_condition"] == math.ceil(n)
    six = simulation_analysis.participants_for_accuracy(base=0.6, difference=0.15, trials=6, icc=0.1)
    assert six["design_effect"] == 1.5 and six["per_condition"] == math.ceil(n * 1.5 / 6)
    assert simulation_analysis.participants_for_accuracy(base=0.6, difference=0.05, trials=6)["per_condition"] > six[
        "per_condition"]
