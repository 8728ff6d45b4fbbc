"""The order of a participant's pages, read from ``Participant.FLOW`` alone.

The next page, the questions each page asks and the "step 3 of 6" a page shows all
come from that one list, so changing the journey means changing it in one place.
"""
from __future__ import annotations

from study.models import Item, Participant

Page = Participant.Page
FLOW: list[str] = list(Participant.FLOW)

#: Pages that ask questions, and the section of the study's items each one asks.
QUESTION_SECTIONS = {Page.PRE: Item.Section.PRE, Page.RATE: Item.Section.RATING, Page.QUESTIONNAIRE: Item.Section.QUESTIONNAIRE}
#: Pages a participant passes without doing anything; they share the step of the page before.
NOT_A_STEP = {Page.WAIT, Page.DONE}


def next_page(page: str) -> str:
    """The page after ``page`` in the flow."""
    position = FLOW.index(page)
    if position + 1 >= len(FLOW):
        raise ValueError(f"{page!r} is the last page")
    return FLOW[position + 1]


def section_of(page: str) -> str | None:
    """The item section a page asks, or None for a page without questions."""
    return QUESTION_SECTIONS.get(page)


def page_of_section(section: str) -> str:
    return next(page for page, asked in QUESTION_SECTIONS.items() if asked == section)


def step(page: str) -> tuple[int, int] | None:
    """(this step, number of steps) for the progress indicator; None off the flow (declined) and when done."""
    steps = [p for p in FLOW if p not in NOT_A_STEP]
    if page not in FLOW or page == Page.DONE:
        return None
    position = FLOW.index(page)
    while FLOW[position] in NOT_A_STEP:
        position -= 1
    return steps.index(FLOW[position]) + 1, len(steps)
