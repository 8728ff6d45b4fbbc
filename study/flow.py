"""The order of a participant's pages, read from ``Participant.FLOW`` alone.

The next page, the questions each page asks and the "step 3 of 6" a page shows all
come from that one list, so changing the journey means changing it in one place.
"""
from __future__ import annotations

from study.models import Item, Participant, Study

Page = Participant.Page
FLOW: list[str] = list(Participant.FLOW)

#: Pages that ask questions, and the section of the study's items each one asks.
QUESTION_SECTIONS = {Page.PRE: Item.Section.PRE, Page.RATE: Item.Section.RATING, Page.QUESTIONNAIRE: Item.Section.QUESTIONNAIRE}
#: Pages a participant passes without doing anything; they share the step of the page before.
NOT_A_STEP = {Page.WAIT, Page.DONE}


def pages(study: Study | None = None) -> list[str]:
    """The flow as ``study``'s participants go through it: without the understanding tests it does not hold."""
    if study is None:
        return FLOW
    skipped = set()
    if not study.simulation_trials:
        skipped = {Page.PRETEST, Page.POSTTEST}
    elif not study.simulation_pretest:
        skipped = {Page.PRETEST}
    return [page for page in FLOW if page not in skipped]


def next_page(page: str, study: Study | None = None) -> str:
    """The page after ``page`` in ``study``'s flow (every page of the flow when no study is given)."""
    flow = pages(study)
    position = flow.index(page)
    if position + 1 >= len(flow):
        raise ValueError(f"{page!r} is the last page")
    return flow[position + 1]


def section_of(page: str) -> str | None:
    """The item section a page asks, or None for a page without questions."""
    return QUESTION_SECTIONS.get(page)


def page_of_section(section: str) -> str:
    return next(page for page, asked in QUESTION_SECTIONS.items() if asked == section)


def step(page: str, study: Study | None = None) -> tuple[int, int] | None:
    """(this step, number of steps) for the progress indicator; None off the flow (declined) and when done."""
    flow = pages(study)
    steps = [p for p in flow if p not in NOT_A_STEP]
    if page not in flow or page == Page.DONE:
        return None
    position = flow.index(page)
    while flow[position] in NOT_A_STEP:
        position -= 1
    return steps.index(flow[position]) + 1, len(steps)
