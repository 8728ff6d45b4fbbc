"""The questionnaire bank shipped with Resonance: validated scales, each item with its source, wording and scale.

A study copies the scales it selects into its own items (study.services.study_create),
so a researcher can reword or drop items per study without changing the bank.
Wording follows the sources, with "the system"/"the recommender" for the product
and "tracks" for items; reverse-coded items are marked so analysis can flip them.
"""
from django.utils.translation import gettext_noop as _

# Texts are marked for translation: a study shows them in the participant's language
# while its items keep the bank's wording (an edited text is shown as written).
AGREE = (_("Strongly disagree"), _("Strongly agree"))

RESQUE = "ResQue (Pu, Chen & Hu 2011)"
JIAN = "Trust in automation (Jian, Bisantz & Drury 2000)"
HOFFMAN = "Explanation Satisfaction Scale, adapted (Hoffman, Mueller, Klein & Litman 2018)"

#: Asked once per recommendation, beside its player and explanation.
RATING_ITEMS = [
    {"code": "liking", "construct": "liking", "text": _("How much do you like this track?"),
     "label_min": _("Not at all"), "label_max": _("Very much"), "source": "Single-item liking rating"},
    {"code": "understand_why", "construct": "perceived_transparency",
     "text": _("I understand why this track was recommended to me."), "source": f"{RESQUE}, transparency, per item"},
    {"code": "novelty", "construct": "novelty", "text": _("This track is new to me."),
     "source": f"{RESQUE}, novelty, per item"},
]

#: Post-questionnaire scales researchers choose from, by key.
SCALES = {
    "resque_transparency": {
        "name": "Perceived transparency and explanation quality (ResQue)",
        "items": [
            ("resque_transparency", _("I understood why the tracks were recommended to me.")),
            ("resque_explanation", _("The recommender explained why the tracks were recommended to me.")),
        ],
        "construct": "perceived_transparency", "source": RESQUE,
    },
    "resque_trust": {
        "name": "Trust and confidence (ResQue)",
        "items": [
            ("resque_convinced", _("I am convinced of the tracks recommended to me.")),
            ("resque_confident", _("I am confident I will like the tracks recommended to me.")),
            ("resque_trust", _("This recommender can be trusted.")),
        ],
        "construct": "trust", "source": RESQUE,
    },
    "resque_satisfaction": {
        "name": "Overall satisfaction (ResQue)",
        "items": [("resque_satisfied", _("Overall, I am satisfied with the recommender."))],
        "construct": "satisfaction", "source": RESQUE,
    },
    "resque_intention": {
        "name": "Use intentions (ResQue)",
        "items": [
            ("resque_use_again", _("I will use this recommender again.")),
            ("resque_tell_friends", _("I will tell my friends about this recommender.")),
        ],
        "construct": "intention_to_use", "source": RESQUE,
    },
    "jian_trust": {
        "name": "Trust in automation (Jian et al.), six of the twelve items",
        "items": [
            ("jian_deceptive", _("The system is deceptive."), True),
            ("jian_suspicious", _("I am suspicious of the system's intent, action, or outputs."), True),
            ("jian_wary", _("I am wary of the system."), True),
            ("jian_confident", _("I am confident in the system.")),
            ("jian_dependable", _("The system is dependable.")),
            ("jian_trust", _("I can trust the system.")),
        ],
        "construct": "trust_in_automation", "source": JIAN,
    },
    "explanation_clarity": {
        "name": "Explanation clarity (adapted Explanation Satisfaction Scale)",
        "items": [
            ("clarity_understand", _("From the explanations, I understand how the recommender chooses tracks.")),
            ("clarity_satisfying", _("The explanations of why tracks were recommended are satisfying.")),
            ("clarity_detail", _("The explanations have sufficient detail.")),
            ("clarity_judge", _("The explanations let me judge when I should trust the recommendations and when not.")),
        ],
        "construct": "explanation_clarity", "source": HOFFMAN,
    },
}
DEFAULT_SCALES = list(SCALES)

#: Asked before choosing tracks: who the participant is, musically.
PRE_ITEMS = [
    {"code": "age_band", "construct": "demographics", "text": _("How old are you?"), "kind": "choice",
     "options": [[1, _("18–24")], [2, _("25–34")], [3, _("35–44")], [4, _("45–54")], [5, _("55–64")], [6, _("65 or older")],
                 [9, _("I prefer not to say")]],
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
     "text": _("For how many years have you had formal training on a musical instrument (including voice)?"),
     "options": [[0, _("None")], [1, _("1 year")], [2, _("2 years")], [3, _("3 years")], [4, _("4–5 years")], [6, _("6–9 years")],
                 [10, _("10 or more years")]],
     "source": "Goldsmiths Musical Sophistication Index (Müllensiefen et al. 2014), training item"},
]

#: Checks placed among the post-questionnaire items.
ATTENTION_CHECK = {
    "code": "attention_check", "construct": "check", "check_kind": "attention",
    "text": _("To show that you are reading carefully, please choose “Strongly disagree” for this statement."),
    "correct_value": 1, "source": "Instructed-response attention check",
}
#: Option values of the manipulation check, by the condition's explanation.
MANIPULATION_ANSWER = {"features": 1, "spectrogram": 2, "both": 3, "none": 4, "tags": 5}
MANIPULATION_CHECK = {
    "code": "manipulation_check", "construct": "check", "check_kind": "manipulation", "kind": "choice",
    "text": _("What did the explanations beside the recommendations show?"),
    "options": [[1, _("Bar charts of musical features (tempo, loudness, …)")],
                [2, _("Pictures of the sound (spectrograms)")], [3, _("Both of these")], [4, _("There were no explanations")],
                [5, _("Words describing the sound (tags)")]],
    "source": "Manipulation check",
}


def _likert(item: dict) -> dict:
    return {"kind": "likert", "label_min": AGREE[0], "label_max": AGREE[1], **item}


def default_items(scales: list[str] | None = None) -> list[dict]:
    """Item fields for a new study with the chosen scales, numbered in the order shown.

    The attention check sits in the middle of the post-questionnaire, the
    manipulation check at its end, where it cannot prime the ratings.
    """
    unknown = set(scales or []) - set(SCALES)
    if unknown:
        raise ValueError(f"unknown scale(s): {', '.join(sorted(unknown))}")
    post = []
    for key in scales if scales is not None else DEFAULT_SCALES:
        scale = SCALES[key]
        for code, text, *reverse in scale["items"]:
            post.append(_likert({
                "code": code, "text": text, "construct": scale["construct"], "source": scale["source"],
                "reverse_coded": bool(reverse and reverse[0]),
            }))
    post.insert(len(post) // 2, _likert(ATTENTION_CHECK))
    post.append({**MANIPULATION_CHECK})
    sections = [
        ("pre", [{"kind": "choice", **item} for item in PRE_ITEMS]),
        ("rating", [_likert(item) for item in RATING_ITEMS]),
        ("questionnaire", post),
    ]
    return [
        {**item, "section": section, "order": order}
        for section, items in sections
        for order, item in enumerate(items)
    ]
