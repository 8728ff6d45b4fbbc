"""The analysis gives what R gives on its own worked examples, reverses what is reverse-coded, and says who is
left out and why. Pure pandas in, tables out: no database."""
import numpy as np
import pandas as pd
import pytest

from research import analysis, rating_models

# R's `sleep` data: extra hours of sleep under two drugs (Student 1908), and R's own output for it.
SLEEP_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
SLEEP_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]
# ?wilcox.test's example (Hollander & Wolfe): permeability constants, and ?kruskal.test's (airway disease).
WILCOX_X = [0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46]
WILCOX_Y = [1.15, 0.88, 0.90, 0.74, 1.21]
KRUSKAL = {"normal": [2.9, 3.0, 2.5, 2.6, 3.2], "obstructive": [3.8, 2.7, 4.0, 2.4], "asbestosis": [2.8, 3.4, 3.7, 2.2, 2.0]}


def scores_of(groups: dict[str, list[float]], scale="trust") -> pd.DataFrame:
    return pd.DataFrame(
        [{"participant": f"{g}{i}", "condition": g, scale: v} for g, values in groups.items() for i, v in enumerate(values)]
    )


def test_welch_s_t_matches_r_on_the_sleep_data():
    """R: t.test(sleep$extra[11:20], sleep$extra[1:10]) (drug2 − drug1, the condition minus the reference):
    t = 1.8608, df = 17.776, p-value = 0.07939, 95 % CI -0.2054832 3.3654832."""
    table = analysis.comparisons(scores_of({"drug1": SLEEP_1, "drug2": SLEEP_2}), ["trust"], ["drug1", "drug2"])
    welch = table[table["test"] == "Welch's t"].iloc[0]
    assert welch["groups"] == "drug2 − drug1"
    assert welch["statistic"] == pytest.approx(1.860813, abs=1e-6)
    assert welch["df"] == pytest.approx(17.77647, abs=1e-5)
    assert welch["p"] == pytest.approx(0.07939414, abs=1e-8)
    assert (welch["mean_difference_ci_low"], welch["mean_difference_ci_high"]) == pytest.approx((-0.2054832, 3.3654832))
    # Hedges' g: d with the pooled SD, (2.33 − 0.75) / 1.8987 = 0.832, times J = 0.9577 (df 18).
    assert welch["effect"] == "Hedges' g" and welch["effect_value"] == pytest.approx(0.8322 * 0.95768, abs=1e-3)
    assert welch["ci_low"] < 0 < welch["effect_value"] < welch["ci_high"]


def test_mann_whitney_u_matches_r_s_example():
    """R: wilcox.test(y, x) (the condition y minus the reference x): W = 15, p-value = 0.2544."""
    table = analysis.comparisons(scores_of({"x": WILCOX_X, "y": WILCOX_Y}), ["trust"], ["x", "y"])
    mwu = table[table["test"] == "Mann–Whitney U"].iloc[0]
    assert mwu["statistic"] == 15 and mwu["p"] == pytest.approx(0.2544, abs=1e-4)
    # Rank-biserial r = 2U / (n_x n_y) − 1 = 30 / 50 − 1: y tends lower than x.
    assert mwu["effect_value"] == pytest.approx(-0.4)
    assert mwu["ci_low"] < -0.4 < mwu["ci_high"]
    assert (mwu["bootstrap_resamples"], mwu["bootstrap_seed"]) == (10_000, analysis.BOOTSTRAP_SEED)
    again = analysis.comparisons(scores_of({"x": WILCOX_X, "y": WILCOX_Y}), ["trust"], ["x", "y"])
    assert again.iloc[0]["ci_low"] == mwu["ci_low"]  # the recorded seed: the same interval every time


def test_kruskal_wallis_matches_r_and_pairs_are_holm_corrected():
    """R: kruskal.test(list(x, y, z)): Kruskal-Wallis chi-squared = 0.77143, df = 2, p-value = 0.68."""
    table = analysis.comparisons(scores_of(KRUSKAL), ["trust"], list(KRUSKAL))
    kruskal = table[table["test"] == "Kruskal–Wallis H"].iloc[0]
    assert kruskal["statistic"] == pytest.approx(0.77143, abs=1e-5) and kruskal["df"] == 2
    assert kruskal["p"] == pytest.approx(0.68, abs=5e-3)
    assert kruskal["effect"] == "epsilon squared" and kruskal["effect_value"] == pytest.approx(0.77143 / 13, abs=1e-6)
    pairs = table[table["test"] == "Mann–Whitney U (pairwise)"]
    assert len(pairs) == 3
    raw = sorted(pairs["p"])
    holm = [min(1.0, max(3 * raw[0], 2 * raw[1] if i >= 1 else 0, raw[2] if i >= 2 else 0)) for i in range(3)]
    assert sorted(pairs["p_holm"]) == pytest.approx(sorted(holm))
    assert (pairs["ci_low"] < pairs["effect_value"]).all() and (pairs["effect_value"] < pairs["ci_high"]).all()


def test_cronbach_s_alpha_is_the_textbook_value():
    rng = np.random.default_rng(3)
    trait = rng.normal(size=40)
    items = np.clip(np.round(4 + trait[:, None] + rng.normal(scale=0.8, size=(40, 4))), 1, 7)
    k = items.shape[1]
    expected = k / (k - 1) * (1 - items.var(axis=0, ddof=1).sum() / items.sum(axis=1).var(ddof=1))
    answers = pd.DataFrame([
        {"participant": f"p{p}", "condition": "a", "section": "questionnaire", "construct": "trust", "item": f"t{i}",
         "value": items[p, i], "scale_min": 1, "scale_max": 7, "reverse_coded": False, "recommendation_rank": None}
        for p in range(40) for i in range(k)
    ])
    table = analysis.reliability(answers)
    assert table.iloc[0]["alpha"] == pytest.approx(expected, abs=1e-9)
    assert table.iloc[0]["ci_low"] < expected < table.iloc[0]["ci_high"]


def answer(participant, condition, item, value, *, construct="trust", section="questionnaire", reverse=False, rank=None):
    return {"participant": participant, "condition": condition, "section": section, "construct": construct, "item": item,
            "value": value, "scale_min": 1, "scale_max": 7, "reverse_coded": reverse, "recommendation_rank": rank}


def test_reverse_coded_items_are_reversed_before_a_scale_is_scored():
    answers = pd.DataFrame([
        answer("p1", "a", "trust", 6), answer("p1", "a", "deceptive", 2, reverse=True),  # 2 reversed is 6
        answer("p2", "b", "trust", 1), answer("p2", "b", "deceptive", 5, reverse=True),  # 5 reversed is 3
        answer("p1", "a", "liking", 4, construct="liking", section="rating", rank=1),
        answer("p1", "a", "liking", 6, construct="liking", section="rating", rank=2),
        answer("p1", "a", "attention", 3, construct="check"),
    ])
    scores = analysis.scale_scores(answers).set_index("participant")
    assert scores.loc["p1", "trust"] == 6 and scores.loc["p2", "trust"] == 2
    assert scores.loc["p1", "liking_mean_rating"] == 5  # ratings averaged over the recommendations, scored apart
    assert "check" not in scores.columns


def test_everyone_left_out_is_listed_with_every_reason():
    participants = pd.DataFrame([
        {"participant": "ok", "condition": "a", "is_pilot": False, "completed": True, "attention_passed": True, "too_fast": False},
        {"participant": "bot", "condition": "a", "is_pilot": True, "completed": True, "attention_passed": None, "too_fast": True},
        {"participant": "quit", "condition": "b", "is_pilot": False, "completed": False, "attention_passed": None, "too_fast": False},
        {"participant": "sloppy", "condition": "b", "is_pilot": False, "completed": True, "attention_passed": False, "too_fast": True},
    ])
    reasons = dict(analysis.exclusions(participants)[["participant", "reasons"]].itertuples(index=False))
    assert reasons == {"bot": "pilot", "quit": "incomplete", "sloppy": "failed attention check; too fast"}
    assert "bot" not in set(analysis.exclusions(participants, include_pilot=True)["participant"])


def test_the_mixed_model_estimates_the_condition_effect_on_ratings_with_participants_as_random_intercepts():
    """Balanced design: the fixed effect of condition is exactly the difference of the condition means."""
    rng = np.random.default_rng(7)
    rows = []
    for p in range(30):
        condition = "control" if p % 2 else "features"
        person = rng.normal(scale=0.8)
        for rank in range(1, 6):
            value = 4 + (0.9 if condition == "features" else 0) + person + rng.normal(scale=0.5)
            rows.append(answer(f"p{p}", condition, "understand_why", value, construct="perceived_transparency",
                               section="rating", rank=rank))
    answers = pd.DataFrame(rows)
    table = rating_models.rating_models(analysis.ratings(answers), ["control", "features"])
    linear = table[table["method"].str.startswith(("lmerTest", "statsmodels")) & ~table["method"].str.contains("rank")]
    effect = linear[linear["term"] == "condition[features]"].iloc[0]
    means = answers.groupby("condition")["value"].mean()
    assert effect["estimate"] == pytest.approx(means["features"] - means["control"], abs=1e-6)
    assert effect["n_participants"] == 30 and effect["n_ratings"] == 150 and effect["reference"] == "control"
    assert effect["ci_low"] < effect["estimate"] < effect["ci_high"]
    # The participants' own levels are modelled: the error is that of 30 people, not of 150 independent ratings.
    naive = np.sqrt(answers.groupby("condition")["value"].var().sum() / 75)
    assert effect["std_error"] > 1.5 * naive


def test_the_study_s_exclusion_rules_decide_who_is_left_out_and_the_checks_are_reported_either_way():
    from study.models.configuration import EXCLUSION_RULES

    assert set(analysis.RULES) == set(EXCLUSION_RULES)  # the model's choices are the analysis's rules
    participants = pd.DataFrame([
        {"participant": "ok", "condition": "a", "is_pilot": False, "completed": True, "attention_passed": True,
         "too_fast": False, "manipulation_passed": True, "straightlined": False},
        {"participant": "wrong", "condition": "a", "is_pilot": False, "completed": True, "attention_passed": True,
         "too_fast": False, "manipulation_passed": False, "straightlined": False},
        {"participant": "flat", "condition": "b", "is_pilot": False, "completed": True, "attention_passed": True,
         "too_fast": False, "manipulation_passed": None, "straightlined": True},
    ])
    default = analysis.exclusions(participants)
    assert default.empty  # attention and too fast only, by default
    strict = analysis.exclusions(participants, rules=["manipulation", "straightlining"])
    assert dict(strict[["participant", "reasons"]].itertuples(index=False)) == {
        "wrong": "failed manipulation check", "flat": "straight-lined"}
    table = analysis.checks(participants, ["a", "b"]).set_index("condition")
    assert table.loc["a", "manipulation_failed"] == 1 and table.loc["a", "manipulation_failed_share"] == 0.5
    assert table.loc["b", "straightlined"] == 1 and table.loc["b", "finished"] == 1


def test_groups_without_any_spread_give_no_standardised_effect_rather_than_an_error():
    table = analysis.comparisons(scores_of({"a": [3.0, 3.0, 3.0], "b": [3.0, 3.0, 3.0]}), ["trust"], ["a", "b"])
    welch = table[table["test"] == "Welch's t"].iloc[0]
    assert np.isnan(welch["effect_value"]) and np.isnan(welch["ci_low"])
