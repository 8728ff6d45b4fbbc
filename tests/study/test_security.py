"""Security settings a paid online study needs: throttled admin logins, rate-limited participant endpoints and
API, a Content-Security-Policy without inline script, API docs for staff from pinned files."""
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import override_settings

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_counters():
    cache.clear()
    yield
    cache.clear()


def test_wrong_admin_passwords_lock_the_account_out_even_for_the_right_one(client, settings):
    get_user_model().objects.create_superuser("researcher", password="the-right-password-123")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/admin/login/", {"username": "researcher", "password": "wrong"})
    locked = client.post("/admin/login/", {"username": "researcher", "password": "the-right-password-123"})
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_participant_flooding_an_endpoint_is_stopped_with_429(client, settings, study):
    settings.PARTICIPANT_RATE_LIMITS = {**settings.PARTICIPANT_RATE_LIMITS, "answer": (5, 1000, 60)}
    client.get(f"/s/{study.slug}/")
    codes = [client.post(f"/s/{study.slug}/answer/", "{}", content_type="application/json").status_code
             for _ in range(8)]
    assert codes[:5] == [409] * 5 or all(code != 429 for code in codes[:5])
    assert codes[5:] == [429, 429, 429]


def test_an_unreachable_rate_limit_cache_lets_participants_through(client, study):
    """Redis restarting must not turn a participant's save into an error: the limit is waived, not enforced."""
    unreachable = {"default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.2},
    }}
    with override_settings(CACHES=unreachable):
        page = client.get(f"/s/{study.slug}/", follow=True)
        saved = client.post(f"/s/{study.slug}/answer/", "{}", content_type="application/json")
    assert page.status_code == 200
    assert saved.status_code not in (429, 500)


@pytest.fixture
def redis_cache():
    """The rate limits' counts in a real Redis (database 9), as CACHE_URL gives a deployment."""
    import redis

    from tests.conftest import _require_integration

    url = "redis://127.0.0.1:6379/9"
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
    try:
        client.flushdb()
    except redis.ConnectionError:
        _require_integration("no Redis on 127.0.0.1:6379")
    with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                               "LOCATION": url}}):
        yield client
    client.flushdb()


def test_on_redis_a_flooding_participant_is_stopped_and_the_counts_expire_with_their_window(
        client, settings, study, redis_cache):
    settings.PARTICIPANT_RATE_LIMITS = {**settings.PARTICIPANT_RATE_LIMITS, "answer": (4, 1000, 60)}
    client.get(f"/s/{study.slug}/")
    codes = [client.post(f"/s/{study.slug}/answer/", "{}", content_type="application/json").status_code
             for _ in range(6)]
    assert 429 not in codes[:4] and codes[4:] == [429, 429]
    buckets = {key.decode(): redis_cache.ttl(key) for key in redis_cache.keys("*ratelimit:answer:*")}
    assert len(buckets) == 2  # one for the browser session, one for the address
    assert {int(redis_cache.get(key)) for key in buckets} == {6}
    assert all(0 < ttl <= 61 for ttl in buckets.values())


def test_on_redis_a_later_request_does_not_stretch_the_window(redis_cache):
    from config.ratelimit import over_limits

    assert [over_limits("probe", [("ip:10.0.0.1", 2)], 60) for _ in range(3)] == [False, False, True]
    (key,) = redis_cache.keys("*ratelimit:probe:*")
    redis_cache.expire(key, 5)  # the window is nearly over
    over_limits("probe", [("ip:10.0.0.1", 2)], 60)
    assert redis_cache.ttl(key) <= 5


def test_the_api_is_throttled(client, admin_user, monkeypatch):
    from rest_framework.authtoken.models import Token
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"user": "3/minute", "anon": "3/minute"})
    token = Token.objects.create(user=admin_user)
    codes = [client.get("/api/studies/", HTTP_AUTHORIZATION=f"Token {token.key}").status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]


def test_anonymous_and_bad_token_api_requests_are_throttled_by_address(client, admin_user, settings):
    from rest_framework.authtoken.models import Token

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "anon": "3/minute"}}
    guesses = [client.get("/api/studies/", HTTP_AUTHORIZATION=f"Token {'0' * 39}{i}").status_code for i in range(3)]
    assert all(code in (401, 403) for code in guesses)
    # Past the anonymous rate the address is refused before its token is even looked at: the right one too.
    token = Token.objects.create(user=admin_user)
    assert client.get("/api/studies/", HTTP_AUTHORIZATION=f"Token {token.key}").status_code == 429
    assert client.get("/api/studies/").status_code == 429
    # Another address is not held back, and a researcher's own successful requests never count.
    other = {"REMOTE_ADDR": "198.51.100.7", "HTTP_AUTHORIZATION": f"Token {token.key}"}
    assert [client.get("/api/studies/", **other).status_code for _ in range(5)] == [200] * 5
    assert client.get(f"/s/{'x' * 5}/").status_code != 429  # participants' pages have their own limits


def test_every_page_carries_a_content_security_policy_with_no_inline_script(client, study):
    page = client.get(f"/s/{study.slug}/", follow=True)
    policy = page["Content-Security-Policy"]
    script = re.search(r"script-src ([^;]+)", policy)[1]
    assert script.strip() == "'self'" and "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.content.decode())


def test_the_api_schema_and_docs_are_for_staff_and_swagger_comes_from_the_pinned_sidecar(client, admin_client):
    assert client.get("/api/schema/").status_code in (401, 403)
    assert client.get("/api/docs/").status_code in (401, 403)
    docs = admin_client.get("/api/docs/").content.decode()
    assert "cdn.jsdelivr" not in docs and "unpkg" not in docs
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in docs
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", docs)  # the split view: no inline start-up script
