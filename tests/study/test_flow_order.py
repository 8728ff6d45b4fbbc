"""The page order lives in Participant.FLOW alone; next pages, sections and steps are read from it."""
import pytest

from study import flow
from study.models import Item, Participant, Study

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
    assert flow.step(Page.CONSENT) == (1, 8)
    assert flow.step(Page.CHOOSE) == (4, 8)
    assert flow.step(Page.WAIT) == flow.step(Page.PRETEST) == (5, 8)  # waiting comes with the test before it
    assert flow.step(Page.QUESTIONNAIRE) == (8, 8)
    assert flow.step(Page.DONE) is None and flow.step(Page.DECLINED) is None


def test_a_study_without_tests_or_without_the_pre_test_skips_their_pages():
    no_tests, post_only, both = Study(simulation_trials=0), Study(simulation_trials=4, simulation_pretest=False), Study()
    assert flow.next_page(Page.CHOOSE, no_tests) == Page.WAIT and flow.next_page(Page.RATE, no_tests) == Page.QUESTIONNAIRE
    assert flow.step(Page.WAIT, no_tests) == flow.step(Page.CHOOSE, no_tests) == (4, 6)
    assert flow.step(Page.QUESTIONNAIRE, no_tests) == (6, 6)
    assert flow.next_page(Page.CHOOSE, post_only) == Page.WAIT and flow.next_page(Page.RATE, post_only) == Page.POSTTEST
    assert flow.step(Page.QUESTIONNAIRE, post_only) == (7, 7)
    assert flow.next_page(Page.CHOOSE, both) == Page.PRETEST and flow.next_page(Page.PRETEST, both) == Page.WAIT
    assert flow.next_page(Page.POSTTEST, both) == Page.QUESTIONNAIRE


def test_a_reordered_flow_changes_where_participants_go(monkeypatch):
    reordered = [Page.CONSENT, Page.PRE, Page.INSTRUCTIONS, Page.CHOOSE, Page.WAIT, Page.RATE, Page.QUESTIONNAIRE, Page.DONE]
    monkeypatch.setattr(flow, "FLOW", reordered)
    assert flow.next_page(Page.CONSENT) == Page.PRE
    assert flow.next_page(Page.INSTRUCTIONS) == Page.CHOOSE


def test_no_page_order_is_written_out_in_the_services():
    """Moves name only the page they leave: the next one comes from the flow."""
    import inspect

    from study.services import answers, choosing, journey, recommending, simulating

    for module in (answers, choosing, journey, recommending, simulating):
        source = inspect.getsource(module)
        assert "NEXT_PAGE" not in source
        for page in (Page.INSTRUCTIONS, Page.PRE, Page.CHOOSE, Page.RATE, Page.QUESTIONNAIRE):
            assert f"move(participant, Page.{page.name}" not in source
