"""Numbers read from others' text: one strict reading for a participant's page, an environment variable and a
server's header alike (config.numbers), so no reader accepts what another refuses."""
import pytest
from django.core.exceptions import ImproperlyConfigured
from rest_framework.exceptions import ValidationError

from config.env import env_int
from config.numbers import ascii_decimal, ascii_int
from study.serializers import DigitsIdField, FiniteSecondsField
from study.services import form_integer

#: What Python's int() or float() would take but no page of the study ever sends.
NOT_PLAIN_NUMBERS = [" 3", "3 ", "3\n", "²", "٣", "1_000", "+3", "0x1f", "", "3.", ".5", "1e3", "inf", "nan", "3,5"]


@pytest.mark.parametrize("raw", NOT_PLAIN_NUMBERS)
def test_every_reader_refuses_what_is_not_a_plain_ascii_number(raw):
    assert ascii_int(raw) is None and form_integer(raw) is None
    assert ascii_decimal(raw, max_digits=7, max_places=6) is None
    with pytest.raises(ValidationError):
        DigitsIdField().run_validation(raw)
    with pytest.raises(ValidationError):
        FiniteSecondsField().run_validation(raw)


def test_plain_numbers_read_the_same_everywhere():
    assert ascii_int("42") == form_integer("42") == DigitsIdField().run_validation("42") == 42
    assert form_integer("-3") == -3 and ascii_int("-3") is None  # only an answer may be negative
    assert FiniteSecondsField().run_validation("12.25") == ascii_decimal("12.25", max_digits=7, max_places=6) == 12.25


def test_lengths_are_bounded():
    assert form_integer("1234567") is None  # a form's answer has at most six digits
    assert ascii_int("1" * 18) is not None and ascii_int("1" * 19) is None
    assert ascii_decimal("1.1234567", max_digits=7, max_places=6) is None


def test_an_environment_integer_is_read_as_strictly_but_may_be_padded(monkeypatch):
    monkeypatch.setenv("SOME_NUMBER", " 12 ")
    assert env_int("SOME_NUMBER", 0) == 12
    monkeypatch.setenv("SOME_NUMBER", "١٢")
    with pytest.raises(ImproperlyConfigured, match="is not an integer"):
        env_int("SOME_NUMBER", 0)
