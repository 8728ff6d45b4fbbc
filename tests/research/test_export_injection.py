"""Spreadsheet formula injection: a participant id or a track title that starts a formula reaches the
researcher's CSV and XLSX as text."""
import io

import pytest

from research.export_files import study_export
from tests.participants import ParticipantBrowser


@pytest.mark.django_db(transaction=True)
def test_a_formula_in_a_prolific_id_or_a_title_reaches_the_csv_and_xlsx_as_text(study, liked):
    from openpyxl import load_workbook

    study.pid_pattern = r"[=a-z]+"  # another panel's ids, loosely checked
    study.save()
    liked[0].title = "=HYPERLINK(\"http://evil\",\"click\")"
    liked[0].save()
    browser = ParticipantBrowser(study)
    browser.get(PROLIFIC_PID="=cmd")
    browser.consent()
    browser.get_recommendations(*liked)
    csv_text = study_export(study=study, format="csv", exported_by="t", reason="test").content.decode()
    assert "'=cmd" in csv_text and ",=cmd" not in csv_text
    xlsx = study_export(study=study, format="xlsx", exported_by="t").content
    book = load_workbook(io.BytesIO(xlsx))
    cells = [c.value for row in book["long"].iter_rows() for c in row if isinstance(c.value, str)]
    assert not any(v.startswith("=") for v in cells)
