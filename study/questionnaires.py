"""The questions a new study starts with; researchers edit them per study in the admin."""

LIKERT_AGREE = ("Strongly disagree", "Strongly agree")

RATING_ITEMS = [
    {
        "code": "liking",
        "construct": "liking",
        "text": "How much do you like this track?",
        "label_min": "Not at all",
        "label_max": "Very much",
        "source": "Single-item liking rating",
    },
    {
        "code": "understand_why",
        "construct": "transparency",
        "text": "I understand why this track was recommended to me.",
        "source": "Adapted from ResQue, perceived transparency (Pu, Chen & Hu 2011)",
    },
]

QUESTIONNAIRE_ITEMS = [
    {
        "code": "trust_recommender",
        "construct": "trust",
        "text": "I trust the recommendations this system gave me.",
        "source": "Adapted from ResQue, trust and confidence (Pu, Chen & Hu 2011)",
    },
    {
        "code": "trust_confident",
        "construct": "trust",
        "text": "I am confident I will like the tracks recommended to me.",
        "source": "ResQue, trust and confidence (Pu, Chen & Hu 2011)",
    },
    {
        "code": "trust_dependable",
        "construct": "trust",
        "text": "The system is dependable.",
        "source": "Trust in automation (Jian, Bisantz & Drury 2000)",
    },
    {
        "code": "clarity_understood",
        "construct": "clarity",
        "text": "The explanations of the recommendations were clear to me.",
        "source": "Explanation clarity",
    },
    {
        "code": "clarity_transparency",
        "construct": "clarity",
        "text": "I understood why the tracks were recommended to me.",
        "source": "ResQue, transparency (Pu, Chen & Hu 2011)",
    },
    {
        "code": "clarity_easy",
        "construct": "clarity",
        "text": "The information about why tracks were recommended was easy to follow.",
        "source": "Explanation clarity",
    },
]


def default_items() -> list[dict]:
    """Item fields for a new study, numbered in the order shown."""
    items = []
    for section, bank in (("rating", RATING_ITEMS), ("questionnaire", QUESTIONNAIRE_ITEMS)):
        for order, item in enumerate(bank):
            label_min, label_max = LIKERT_AGREE
            items.append({"label_min": label_min, "label_max": label_max, **item, "section": section, "order": order})
    return items
