"""Every command says in --help what each option defaults to, and every long one how long it takes (measured), so
a researcher on a deadline knows before starting (issue 22)."""
import argparse
import re

import pytest
from django.core.management import get_commands, load_command_class

OURS = {name: app for name, app in get_commands().items() if app in ("recommender", "research", "explanations", "study")}
#: The commands that run for minutes on a real catalog or study.
LONG = ["import_catalog", "embed_catalog", "train_cnn", "prerender_explanations", "prepare_catalog",
        "evaluate_recommenders", "evaluate_explanations", "make_demo_catalog", "fetch_clips", "run_bots", "analyse_study"]
DURATION = re.compile(r"(expected duration|takes about|about [\d.,]+ ?(s|ms|min|minutes|seconds)\b)", re.IGNORECASE)
DJANGO_OWN = {"verbosity", "settings", "pythonpath", "traceback", "no_color", "force_color", "skip_checks", "help"}


def _parser(name):
    command = load_command_class(OURS[name], name)
    return command, command.create_parser("manage.py", name)


def test_the_long_commands_are_all_ours():
    assert set(LONG) <= set(OURS)


@pytest.mark.parametrize("name", sorted(OURS))
def test_every_option_with_a_default_says_what_it_is(name):
    _command, parser = _parser(name)
    silent = [
        action.dest for action in parser._actions
        if action.option_strings and action.dest not in DJANGO_OWN and not isinstance(action.default, bool)
        and action.default not in (None, "", argparse.SUPPRESS) and "default" not in (action.help or "")
    ]
    assert not silent, f"{name}: options whose help hides their default: {silent}"


@pytest.mark.parametrize("name", LONG)
def test_every_long_command_says_how_long_it_takes(name):
    command = load_command_class(OURS[name], name)
    assert DURATION.search(command.help), f"{name}'s help names no measured duration: {command.help!r}"
