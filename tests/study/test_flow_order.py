"""The page order lives in Participant.FLOW alone; next pages, sections and steps are read from it."""
import pytest

from study import flow
from study.models import Item, Participant

Page = Participant.Page


def test_each_page_leads_to_the_next_one_in_the_flow():
    assert [flow.next_page(page) for page in Participant.FLOW[:-1]] == Participant.FLOW[1:]
    with pytest.raises(ValueError, match="is the last page"):
        flow.next_page(Page.DONE)


def test_question_pages_and_item_sections_map_both_ways():
    for page in (Page.PRE, Page.RATE, Page.QUESTIONNAIRE):
        assert flow.page_of_section(flow.section_of(page)) == page
    assert {flow.section_of(page) for page in (Page.PRE, Page.RATE, Page.QUESTIONNAIRE)} == set(Item.Section.values)
    assert flow.section_of(Page.CHOOSE) is None


def test_steps_count_the_pages_a_participant_acts_on():
    assert flow.step(Page.CONSENT) == (1, 6)
    assert flow.step(Page.CHOOSE) == (4, 6)
    assert flow.step(Page.WAIT) == flow.step(Page.CHOOSE)  # waiting is part of asking for recommendations
    assert flow.step(Page.QUESTIONNAIRE) == (6, 6)
    assert flow.step(Page.DONE) is None and flow.step(Page.DECLINED) is None


def test_a_reordered_flow_changes_where_participants_go(monkeypatch):
    reordered = [Page.CONSENT, Page.PRE, Page.INSTRUCTIONS, Page.CHOOSE, Page.WAIT, Page.RATE, Page.QUESTIONNAIRE, Page.DONE]
    monkeypatch.setattr(flow, "FLOW", reordered)
    assert flow.next_page(Page.CONSENT) == Page.PRE
    assert flow.next_page(Page.INSTRUCTIONS) == Page.CHOOSE


def test_no_page_order_is_written_out_in_the_services():
    """Moves name only the page they leave: the next one comes from the flow."""
    import inspect

    from study.services import answers, choosing, journey, recommending

    for module in (answers, choosing, journey, recommending):
        source = inspect.getsource(module)
        assert "NEXT_PAGE" not in source
        for page in (Page.INSTRUCTIONS, Page.PRE, Page.CHOOSE, Page.RATE, Page.QUESTIONNAIRE):
            assert f"move(participant, Page.{page.name}" not in source
