"""The researchers' API fuzzed from its own OpenAPI schema (schemathesis): whatever the query, path or token,
no request gets a server error, and every answer it documents has the shape the schema gives."""
import itertools
import json
from collections import Counter

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.factories import CatalogFactory, make_study

pytestmark = pytest.mark.django_db


@pytest.fixture
def api_schema(db):
    """The schema drf-spectacular publishes, calling the real WSGI application in this process (on the test's
    database connection, which the request signals must then leave open, as Django's test client does)."""
    from django.core import signals
    from django.db import close_old_connections
    from drf_spectacular.generators import SchemaGenerator

    spec = json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True), default=str))
    loaded = schemathesis.openapi.from_dict(spec)
    loaded.app = get_wsgi_application()
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield loaded
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def staff_token(admin_user):
    from rest_framework.authtoken.models import Token

    return Token.objects.create(user=admin_user).key


@pytest.fixture
def study_with_a_slug():
    return make_study(CatalogFactory(), slug="fuzzed")


def test_no_request_to_the_api_is_a_server_error(api_schema, staff_token, study_with_a_slug):
    """Every operation in the schema, with generated path, query and headers; half the cases name a real
    study, a third come without a token. (Driven by hypothesis directly: schemathesis' pytest plugin does not
    run on this pytest.)"""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 3
    seen, calls = Counter(), itertools.count()

    for operation in operations:
        @given(operation.as_strategy())
        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def fuzz(case):
            number = next(calls)
            if case.path_parameters and number % 2:
                case.path_parameters["slug"] = study_with_a_slug.slug
            authorised = number % 3 != 0
            response = case.call(headers={"Authorization": f"Token {staff_token}"} if authorised else {})
            seen[operation.path, response.status_code] += 1  # noqa: B023 (fuzz runs inside this iteration)
            case.validate_response(response, checks=[not_a_server_error])
            if response.status_code == 200:
                case.validate_response(response, checks=[response_schema_conformance])

        fuzz()
    # The fuzzing reached each operation's real answer and its refusals, not only 404s.
    for operation in operations:
        assert seen[operation.path, 200] > 0, seen
    assert any(status in (401, 403) for _path, status in seen), seen
