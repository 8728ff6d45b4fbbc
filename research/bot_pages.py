"""What a pilot bot reads on a participant's page: the fields it must fill, the clips it may play, the trial on
a test page and the explanations shown (research.bots)."""
from __future__ import annotations

from html.parser import HTMLParser


class PageReader(HTMLParser):
    """What a participant sees on a page, as far as a bot needs it."""

    def __init__(self, html: str):
        super().__init__()
        self.csrf = ""
        self.questions: dict[str, list[int]] = {}  # radio group name -> its values, in page order
        self.seqs: dict[str, int] = {}  # question -> the save number the page holds
        self.tracks: list[int] = []  # tracks listed on the choose page
        self.recommended: list[int] = []  # recommended clips on the rate page
        self.explanations: set[str] = set()  # kinds of explanation figures shown
        self.trial: int | None = None  # the understanding-test trial on the page
        self.trial_total = 0
        self.candidates: list[int] = []  # its two candidates' clips
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "input" and a.get("name") == "csrfmiddlewaretoken":
            self.csrf = a.get("value") or self.csrf
        elif tag == "form" and a.get("data-trial"):
            self.trial, self.trial_total = int(a["data-trial"]), int(a.get("data-total") or 0)
        elif tag == "audio" and a.get("data-role") == "candidate":
            self.candidates.append(int(a["data-track"]))
        elif tag == "input" and a.get("name") in ("choice", "confidence"):
            pass  # a trial's answer: research.bot_tests
        elif tag == "input" and a.get("type") == "radio" and a.get("name"):
            self.questions.setdefault(a["name"], []).append(int(a["value"]))
        elif tag == "fieldset" and a.get("data-field"):
            self.seqs[a["data-field"]] = int(a.get("data-seq") or 0)
        elif tag == "li" and "track" in classes and "chosen" not in classes and a.get("data-track"):
            self.tracks.append(int(a["data-track"]))
        elif tag == "audio" and a.get("data-role") == "recommended":
            self.recommended.append(int(a["data-track"]))
        elif tag == "figure" and "explanation" in classes:
            self.explanations |= {c.removeprefix("explanation-") for c in classes if c.startswith("explanation-")}
