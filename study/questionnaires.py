"""The questionnaire bank shipped with Resonance: published scales, complete, each item with its published
wording, the wording adapted to music recommendation beside it, its source and its own response scale.

A study copies the scales it selects into its own items (study.services.study_create),
so a researcher can reword or drop items per study without changing the bank; the codebook
then shows the bank's wording and the dropped items beside the study's own.
tests/study/data/published_items.json holds a copy of every published text and scale that
the bank is checked against. The adapted wording says "the recommender" for the product and
"tracks" for items; reverse-coded items are marked so analysis can flip them.
"""
from django.utils.translation import gettext_noop as _

# Texts are marked for translation: a study shows them in the participant's language
# while its items keep the bank's wording (an edited text is shown as written).
#: Anchors each instrument was published with, and the study's own rating items.
AGREE_5 = (_("Strongly disagree"), _("Strongly agree"))  # ResQue: 5-point Likert
HOFFMAN_ANCHORS = (_("I disagree strongly"), _("I agree strongly"))  # 5 = agree strongly ... 1 = disagree strongly
JIAN_ANCHORS = (_("Not at all"), _("Extremely"))  # 7-point
AGREE = AGREE_5

RESQUE = "ResQue (Pu, Chen & Hu 2011)"
RESQUE_CITATION = (
    "Pu, P., Chen, L., & Hu, R. (2011). A user-centric evaluation framework for recommender systems. "
    "Proceedings of the 5th ACM Conference on Recommender Systems (RecSys '11), 157-164."
)
JIAN = "Trust between People and Automation (Jian, Bisantz & Drury 2000)"
JIAN_CITATION = (
    "Jian, J.-Y., Bisantz, A. M., & Drury, C. G. (2000). Foundations for an empirically determined scale of trust "
    "in automated systems. International Journal of Cognitive Ergonomics, 4(1), 53-71."
)
HOFFMAN = "Explanation Satisfaction Scale (Hoffman, Mueller, Klein & Litman 2018)"
HOFFMAN_CITATION = (
    "Hoffman, R. R., Mueller, S. T., Klein, G., & Litman, J. (2018). Metrics for explainable AI: Challenges and "
    "prospects. arXiv:1812.04608, Appendix C."
)
GOLD_MSI = "Goldsmiths Musical Sophistication Index (Müllensiefen, Gingras, Musil & Stewart 2014)"
GOLD_MSI_CITATION = (
    "Müllensiefen, D., Gingras, B., Musil, J., & Stewart, L. (2014). The musicality of non-musicians: an index for "
    "assessing musical sophistication in the general population. PLoS ONE, 9(2), e89642."
)
#: No validated German version of these items ships with Resonance: the German texts are Resonance's own
#: translation (locale/de), which the codebook says of every item. (Pöhler, Heine & Deml 2016 validated a
#: German version of Jian et al.; its wording is not included here, as it could not be checked against the paper.)
GERMAN_SOURCE = "Resonance's own translation (not a validated German version)"

#: Asked once per recommendation, beside its player and explanation: the study's own single items, on a
#: 7-point scale, not items of a published instrument.
RATING_ITEMS = [
    {"code": "liking", "construct": "liking", "text": _("How much do you like this track?"), "scale_min": 1,
     "scale_max": 7, "label_min": _("Not at all"), "label_max": _("Very much"), "source": "Resonance: single-item liking"},
    {"code": "understand_why", "construct": "perceived_transparency_item",
     "text": _("I understand why this track was recommended to me."), "scale_min": 1, "scale_max": 7,
     "label_min": _("Strongly disagree"), "label_max": _("Strongly agree"),
     "published_text": "I understood why the items were recommended to me.", "adapted": True,
     "source": f"{RESQUE}, transparency item, adapted to a single recommendation; {RESQUE_CITATION}"},
    {"code": "novelty", "construct": "novelty_item", "text": _("This track is new to me."), "scale_min": 1,
     "scale_max": 7, "label_min": _("Strongly disagree"), "label_max": _("Strongly agree"),
     "source": "Resonance: single-item novelty (familiarity) rating"},
]


def _item(code, published, adapted=None, reverse=False):
    return {"code": code, "published": published, "adapted": adapted, "reverse": reverse}


#: Post-questionnaire scales researchers choose from, by key: each complete as published, with its own
#: response scale and anchors. A study may drop items (the codebook then lists what was dropped) or reword
#: them (the codebook shows the bank's wording beside the study's).
SCALES = {
    "resque_transparency": {
        "name": "Perceived transparency (ResQue)", "construct": "perceived_transparency", "source": RESQUE,
        "citation": RESQUE_CITATION, "points": 5, "anchors": AGREE_5,
        "items": [_item("resque_transparency", "I understood why the items were recommended to me.",
                        _("I understood why the tracks were recommended to me."))],
    },
    "resque_explanation": {
        "name": "Explanation (ResQue, interaction adequacy)", "construct": "explanation", "source": RESQUE,
        "citation": RESQUE_CITATION, "points": 5, "anchors": AGREE_5,
        "items": [_item("resque_explanation", "The recommender explains why the products are recommended to me.",
                        _("The recommender explains why the tracks are recommended to me."))],
    },
    "resque_trust": {
        "name": "Confidence and trust (ResQue)", "construct": "trust", "source": RESQUE,
        "citation": RESQUE_CITATION, "points": 5, "anchors": AGREE_5,
        "items": [
            _item("resque_convinced", "I am convinced of the products recommended to me.",
                  _("I am convinced of the tracks recommended to me.")),
            _item("resque_confident", "I am confident I will like the items recommended to me.",
                  _("I am confident I will like the tracks recommended to me.")),
            _item("resque_more_confident", "The recommender made me more confident about my selection/decision.",
                  _("The recommender made me more confident about my choice of music.")),
            _item("resque_confused", "The recommended items made me confused about my choice.",
                  _("The recommended tracks made me confused about my choice."), reverse=True),
            _item("resque_trust", "The recommender can be trusted.", _("The recommender can be trusted.")),
        ],
    },
    "resque_satisfaction": {
        "name": "Overall satisfaction (ResQue)", "construct": "satisfaction", "source": RESQUE,
        "citation": RESQUE_CITATION, "points": 5, "anchors": AGREE_5,
        "items": [_item("resque_satisfied", "Overall, I am satisfied with the recommender.",
                        _("Overall, I am satisfied with the recommender."))],
    },
    "resque_intention": {
        "name": "Use intentions (ResQue)", "construct": "intention_to_use", "source": RESQUE,
        "citation": RESQUE_CITATION, "points": 5, "anchors": AGREE_5,
        "items": [
            _item("resque_use_again", "I will use this recommender again.", _("I will use this recommender again.")),
            _item("resque_use_frequently", "I will use this type of recommender frequently.",
                  _("I will use this type of recommender frequently.")),
            _item("resque_tell_friends", "I will tell my friends about this recommender.",
                  _("I will tell my friends about this recommender.")),
        ],
    },
    "jian_trust": {
        "name": "Trust between people and automation (Jian et al.), all 12 items", "construct": "trust_in_automation",
        "source": JIAN, "citation": JIAN_CITATION, "points": 7, "anchors": JIAN_ANCHORS,
        "items": [
            _item("jian_deceptive", "The system is deceptive.", _("The system is deceptive."), reverse=True),
            _item("jian_underhanded", "The system behaves in an underhanded manner.",
                  _("The system behaves in an underhanded manner."), reverse=True),
            _item("jian_suspicious", "I am suspicious of the system's intent, action, or outputs.",
                  _("I am suspicious of the system's intent, action, or outputs."), reverse=True),
            _item("jian_wary", "I am wary of the system.", _("I am wary of the system."), reverse=True),
            _item("jian_harmful", "The system's actions will have a harmful or injurious outcome.",
                  _("The system's actions will have a harmful or injurious outcome."), reverse=True),
            _item("jian_confident", "I am confident in the system.", _("I am confident in the system.")),
            _item("jian_security", "The system provides security.", _("The system provides security.")),
            _item("jian_integrity", "The system has integrity.", _("The system has integrity.")),
            _item("jian_dependable", "The system is dependable.", _("The system is dependable.")),
            _item("jian_reliable", "The system is reliable.", _("The system is reliable.")),
            _item("jian_trust", "I can trust the system.", _("I can trust the system.")),
            _item("jian_familiar", "I am familiar with the system.", _("I am familiar with the system.")),
        ],
    },
    "explanation_satisfaction": {
        "name": "Explanation Satisfaction Scale (Hoffman et al.), all 8 items", "construct": "explanation_satisfaction",
        "source": HOFFMAN, "citation": HOFFMAN_CITATION, "points": 5, "anchors": HOFFMAN_ANCHORS,
        "items": [
            _item("ess_understand", "From the explanation, I understand how the [software, algorithm, tool] works.",
                  _("From the explanations, I understand how the recommender works.")),
            _item("ess_satisfying", "This explanation of how the [software, algorithm, tool] works is satisfying.",
                  _("The explanations of how the recommender works are satisfying.")),
            _item("ess_detail", "This explanation of how the [software, algorithm, tool] works has sufficient detail.",
                  _("The explanations of how the recommender works have sufficient detail.")),
            _item("ess_complete", "This explanation of how the [software, algorithm, tool] works seems complete.",
                  _("The explanations of how the recommender works seem complete.")),
            _item("ess_how_to_use", "This explanation of how the [software, algorithm, tool] works tells me how to use it.",
                  _("The explanations of how the recommender works tell me how to use it.")),
            _item("ess_useful", "This explanation of how the [software, algorithm, tool] works is useful to my goals.",
                  _("The explanations of how the recommender works are useful to my goals.")),
            _item("ess_accurate", "This explanation of the [software, algorithm, tool] shows me how accurate the "
                  "[software, algorithm, tool] is.", _("The explanations show me how accurate the recommender is.")),
            _item("ess_trust", "This explanation lets me judge when I should trust and not trust the "
                  "[software, algorithm, tool].",
                  _("The explanations let me judge when I should trust and not trust the recommender.")),
        ],
    },
}
DEFAULT_SCALES = ["resque_transparency", "resque_explanation", "resque_trust", "resque_satisfaction",
                  "explanation_satisfaction"]


def bank_item(scale_key: str, code: str) -> dict | None:
    """The bank's entry for one item of one scale (its published and adapted wording), or None."""
    return next((item for item in SCALES.get(scale_key, {}).get("items", []) if item["code"] == code), None)


#: An option that is no answer: statistics packages are told it is missing (SPSS user-missing values).
PREFER_NOT_TO_SAY = _("I prefer not to say")

#: Asked before choosing tracks: who the participant is, musically.
PRE_ITEMS = [
    {"code": "age_band", "construct": "demographics", "text": _("How old are you?"), "kind": "choice",
     "options": [[1, _("18–24")], [2, _("25–34")], [3, _("35–44")], [4, _("45–54")], [5, _("55–64")], [6, _("65 or older")],
                 [9, PREFER_NOT_TO_SAY]],
     "source": "Age band"},
    {"code": "listening_hours", "construct": "listening_habits", "kind": "choice",
     "text": _("On a typical day, how long do you listen to music?"),
     "options": [[1, _("Less than 30 minutes")], [2, _("30 minutes to 1 hour")], [3, _("1 to 2 hours")], [4, _("2 to 4 hours")],
                 [5, _("More than 4 hours")]],
     "source": "Listening habits"},
    {"code": "streaming_use", "construct": "listening_habits", "kind": "choice",
     "text": _("How often do you use music streaming recommendations (e.g. playlists made for you)?"),
     "options": [[1, _("Never")], [2, _("Rarely")], [3, _("Monthly")], [4, _("Weekly")], [5, _("Daily")]],
     "source": "Listening habits"},
    {"code": "musical_training", "construct": "musical_training", "kind": "choice",
     "text": _("I have had __ years of formal training on a musical instrument (including voice) during my lifetime."),
     "published_text": "I have had __ years of formal training on a musical instrument (including voice) during my "
                       "lifetime.",
     # Gold-MSI codes 1-7 for the published options.
     "options": [[1, _("0")], [2, _("0.5")], [3, _("1")], [4, _("2")], [5, _("3–5")], [6, _("6–9")],
                 [7, _("10 or more")]],
     "source": f"{GOLD_MSI}, item 36 (musical training); {GOLD_MSI_CITATION}"},
]

#: Checks placed among the post-questionnaire items.
ATTENTION_CHECK = {
    "code": "attention_check", "construct": "check", "check_kind": "attention", "scale_min": 1, "scale_max": 5,
    "label_min": AGREE_5[0], "label_max": AGREE_5[1],
    "text": _("To show that you are reading carefully, please choose {value} for this statement."),
    "correct_value": None, "source": "Resonance: instructed-response attention check (the instructed value is "
    "drawn per participant from the scale's inner points)",
}
#: Wordings earlier studies stored, still translated for the participants of those studies.
EARLIER_TEXTS = [_("To show that you are reading carefully, please choose “Strongly disagree” for this statement.")]
#: Option values of the manipulation check, by the condition's explanation.
MANIPULATION_ANSWER = {"features": 1, "spectrogram": 2, "both": 3, "none": 4, "tags": 5}
MANIPULATION_CHECK = {
    "code": "manipulation_check", "construct": "check", "check_kind": "manipulation", "kind": "choice",
    "text": _("What did the explanations beside the recommendations show?"),
    "options": [[1, _("Bar charts of musical features (tempo, loudness, …)")],
                [2, _("Pictures of the sound (spectrograms)")], [3, _("Both of these")], [4, _("There were no explanations")],
                [5, _("Words describing the sound (tags)")]],
    "source": "Resonance: manipulation check",
}


def _likert(item: dict) -> dict:
    return {"kind": "likert", "label_min": AGREE_5[0], "label_max": AGREE_5[1], "scale_min": 1, "scale_max": 5, **item}


def scale_items(key: str, codes: list[str] | None = None) -> list[dict]:
    """Item fields for one bank scale (all its items, or only ``codes``), on the scale's own published response
    scale and anchors; the text shown is the adapted wording, the published one kept beside it."""
    scale = SCALES[key]
    chosen = [item for item in scale["items"] if codes is None or item["code"] in codes]
    unknown = set(codes or []) - {item["code"] for item in scale["items"]}
    if unknown:
        raise ValueError(f"scale {key!r} has no item(s) {', '.join(sorted(unknown))}")
    return [
        {
            "kind": "likert", "code": item["code"], "construct": scale["construct"], "bank_scale": key,
            "text": item["adapted"] or item["published"], "published_text": item["published"],
            "adapted": item["adapted"] is not None and item["adapted"] != item["published"],
            "reverse_coded": item["reverse"], "scale_min": 1, "scale_max": scale["points"],
            "label_min": scale["anchors"][0], "label_max": scale["anchors"][1],
            "source": f"{scale['source']}; {scale['citation']}",
        }
        for item in chosen
    ]


def default_items(scales: list[str] | dict[str, list[str]] | None = None) -> list[dict]:
    """Item fields for a new study with the chosen scales, numbered in the order shown.

    ``scales``: bank keys (every item of each), or {key: [item codes]} to use part of a scale (the codebook
    records what was dropped). The attention check sits in the middle of the post-questionnaire, the
    manipulation check at its end, where it cannot prime the ratings.
    """
    chosen = scales if isinstance(scales, dict) else dict.fromkeys(scales if scales is not None else DEFAULT_SCALES)
    unknown = set(chosen) - set(SCALES)
    if unknown:
        raise ValueError(f"unknown scale(s): {', '.join(sorted(unknown))}")
    post = [item for key, codes in chosen.items() for item in scale_items(key, codes)]
    post.insert(len(post) // 2, _likert(ATTENTION_CHECK))
    post.append({**MANIPULATION_CHECK})
    sections = [
        ("pre", [{"kind": "choice", **item} for item in PRE_ITEMS]),
        ("rating", [{"kind": "likert", **item} for item in RATING_ITEMS]),
        ("questionnaire", post),
    ]
    return [
        {**item, "section": section, "order": order}
        for section, items in sections
        for order, item in enumerate(items)
    ]
