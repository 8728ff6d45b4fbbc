"""The house rules that keep each rule in one place, checked over the source: a second copy of a rule, a
service that imports a task or a journey module that reaches into the workbench fails here, not in review."""
import ast
import re
from pathlib import Path

import pytest
from django.apps import apps

from config.jobs import task_named

ROOT = Path(__file__).resolve().parent.parent
APPS = ["config", "study", "research", "recommender", "explanations"]


def sources(*folders: str):
    for folder in folders or APPS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path, path.read_text(encoding="utf-8")


def where(pattern: str, *folders: str) -> set[str]:
    """The app files (relative paths) whose source matches ``pattern``."""
    found = re.compile(pattern, re.MULTILINE)
    return {str(path.relative_to(ROOT)) for path, text in sources(*folders) if found.search(text)}


def imported_modules(text: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_no_module_imports_a_tasks_module():
    """Tasks import services and are sent by name (config.jobs), never imported back."""
    offenders = {
        str(path.relative_to(ROOT)) for path, text in sources()
        if any(re.fullmatch(r"\w+\.tasks(\.\w+)?", name) for name in imported_modules(text))
    }
    assert offenders == set()


def test_every_task_a_service_sends_by_name_exists():
    names = {name for _path, text in sources() for name in re.findall(r'"(\w+\.tasks\.\w+)"', text)}
    assert "study.tasks.recommend_for_participant" in names
    for name in names:
        assert task_named(name).name == name


def test_the_participant_s_journey_never_reaches_into_the_researcher_s_workbench():
    offenders = {
        str(path.relative_to(ROOT)) for path, text in sources("study")
        if any(name == "research" or name.startswith("research.") for name in imported_modules(text))
    }
    assert offenders == set()


def test_the_workbench_owns_no_models():
    assert list(apps.get_app_config("research").get_models()) == []
    assert not (ROOT / "research" / "migrations").exists()


@pytest.mark.parametrize(("rule", "pattern", "home"), [
    ("the liked-track limit", r"(<=?|>=?)\s*[\w.]*\.(min|max)_liked\b|\b(min|max)_liked\s*(<=?|>=?)", {"study/models/configuration.py"}),
    ("the missing-index message", r"no \{?\w+\}? index yet", {"recommender/services.py"}),
    ("the study's default questionnaire", r"\bdefault_items\(", {"study/questionnaires.py", "research/services/setup.py"}),
    ("strict number parsing", r"\[0-9\]\{|\.isdigit\(|\.isdecimal\(", {"config/numbers.py"}),
    ("an audio file's hash", r"hashlib\.file_digest|\.update\(chunk\)", {"recommender/audio.py"}),
    ("unit rows", r"def _?unit_rows\b", {"recommender/similarity.py"}),
    ("pitch classes", r"^PITCH_CLASSES\s*=", {"recommender/audio.py"}),
])
def test_each_rule_is_written_once(rule, pattern, home):
    assert where(pattern) == home, rule


def test_no_name_hides_another_model_or_choice():
    """recommender.services.Recommendation once hid study.models.Recommendation, and Condition.Explanation
    hid explanations.models.Explanation, wherever both were imported."""
    classes = {}
    for path, text in sources():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef):
                classes.setdefault(node.name, []).append(str(path.relative_to(ROOT)))
    assert classes.get("Recommendation") == ["study/models/record.py"]
    assert classes.get("Explanation") == ["explanations/models.py"]


def test_the_bots_take_the_study_s_addresses_from_its_urlconf():
    text = (ROOT / "research" / "bots.py").read_text()
    assert '"/s/' not in text and "f\"/s/" not in text and "reverse(" in text


def test_constants_name_choices_rather_than_repeat_their_values():
    assert where(r'balance_on\s*==\s*"') == set()
    assert where(r'feature_set(: str)?\s*=\s*"audio"') == set()
    assert where(r'^(LEAST_FILLED|PERMUTED_BLOCK)\s*=', "study") == set()
