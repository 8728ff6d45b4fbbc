"""The researcher's pages fit a laptop: the study page (its conditions and questions inline), the gallery of a
four-condition study in two languages, the monitor and the analysis, at 1280 px wide in Chromium, without
scrolling sideways."""
import pytest

from tests.factories import make_study

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
LAPTOP = 1280


def test_the_study_page_the_gallery_the_monitor_and_the_analysis_fit_1280_px(chromium, live_server, demo_catalog,
                                                                            admin_user, client, shots):
    study = make_study(demo_catalog, conditions=[("features", "features"), ("spectrogram", "spectrogram"),
                                                 ("both", "both"), ("control", "none")])
    client.force_login(admin_user)
    context = chromium.new_context(viewport={"width": LAPTOP, "height": 900})
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    page = context.new_page()
    for name in ("change", "gallery", "monitor", "analysis"):
        page.goto(f"{live_server.url}/admin/study/study/{study.pk}/{name}/")
        assert page.locator("body").count() == 1
        width = page.evaluate("document.documentElement.scrollWidth")
        shots(page, name)
        assert width <= LAPTOP, f"the {name} page is {width} px wide"
    context.close()
