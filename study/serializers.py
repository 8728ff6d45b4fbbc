"""What the participant endpoints accept, as DRF serializers with strict types: a JSON integer is an integer
(not 3.9, true or " 6 "), an id has a bounded number of digits, a position is a finite number of seconds.

Whether a value is an answer on its item's scale is the answer service's to say (with the question's
wording, in the participant's language); these only refuse what no page of the study ever sends.
"""
import re

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from config.numbers import ascii_decimal, ascii_int

#: The largest id a participant's request may name (far above any row; bounds the digits parsed).
MAX_ID = 2**62


class StrictIntegerField(serializers.Field):
    """A JSON integer within bounds: booleans, floats and numeric strings are refused, not coerced."""

    default_error_messages = {
        "invalid": _("A whole number is required."),
        "range": _("The number is out of range."),
    }

    def __init__(self, *, min_value: int, max_value: int, **kwargs):
        self.min_value, self.max_value = min_value, max_value
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        if not self.min_value <= data <= self.max_value:
            self.fail("range")
        return data

    def to_representation(self, value):
        return value


class DigitsIdField(serializers.Field):
    """A positive id sent as form text (a beacon sends form data): ASCII digits only, at most 18 of them."""

    default_error_messages = {"invalid": _("An id is a positive whole number.")}

    def to_internal_value(self, data):
        value = ascii_int(data, max_digits=18)
        if value is None or not 0 < value < MAX_ID:
            self.fail("invalid")
        return value

    def to_representation(self, value):
        return str(value)


class CodeField(serializers.Field):
    """A question's code as a JSON string: letters, digits, - and _, at most 40; never a number made text."""

    default_error_messages = {"invalid": _("A question's code is required.")}
    pattern = re.compile(r"[A-Za-z0-9_-]{1,40}")

    def to_internal_value(self, data):
        if not isinstance(data, str) or not self.pattern.fullmatch(data):
            self.fail("invalid")
        return data

    def to_representation(self, value):
        return value


class FiniteSecondsField(serializers.Field):
    """Seconds as form text: a plain decimal number (no spaces, inf, nan, exponent or 400 digits), 0 to an hour."""

    default_error_messages = {"invalid": _("A number of seconds is required.")}

    def to_internal_value(self, data):
        value = ascii_decimal(data, max_digits=7, max_places=6)
        if value is None:
            self.fail("invalid")
        return value

    def to_representation(self, value):
        return value


class AnswerSerializer(serializers.Serializer):
    """One answer saved by the page's script as it is given (POST JSON to /s/<study>/answer/)."""

    item = CodeField(help_text="The question's code.")
    value = serializers.JSONField(help_text="The answer: an integer on the item's scale (checked by the service).")
    recommendation = StrictIntegerField(min_value=1, max_value=MAX_ID - 1, required=False, allow_null=True,
                                        default=None)
    seq = StrictIntegerField(min_value=1, max_value=MAX_ID - 1, required=False, allow_null=True, default=None,
                             help_text="The page's number for this save of this question; a higher one wins.")


class ListenEventSerializer(serializers.Serializer):
    """One player event (form data from navigator.sendBeacon to /s/<study>/listen/)."""

    track = DigitsIdField()
    event = serializers.CharField(max_length=20)
    position = FiniteSecondsField()
    listened = FiniteSecondsField(required=False, default=0.0)


def first_error(serializer: serializers.Serializer) -> tuple[str, str]:
    """The first invalid field and its message, for a response the page can show."""
    field, messages = next(iter(serializer.errors.items()))
    return field, str(messages[0])
