"""Where a request comes from (the rate limits' per-address key) and the strict environment readers."""
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

from config.env import env_bool, env_int, env_list, env_str
from config.ratelimit import client_ip


def request(forwarded: str | None = None, remote: str = "192.0.2.10"):
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote, **headers)


def test_without_a_trusted_proxy_a_forged_forwarded_header_is_ignored(settings):
    settings.TRUSTED_PROXY_HOPS = 0
    assert client_ip(request("203.0.113.7")) == "192.0.2.10"  # the participant cannot pick their own address


@pytest.mark.parametrize(("hops", "forwarded", "expected"), [
    (1, "10.0.0.9", "10.0.0.9"),
    (1, "203.0.113.7, 10.0.0.9", "10.0.0.9"),  # what the client wrote comes first; the proxy appends the truth
    (2, "203.0.113.7, 10.0.0.9, 172.16.0.2", "10.0.0.9"),
    (1, " 10.0.0.9 ,", "10.0.0.9"),
])
def test_behind_trusted_proxies_the_address_is_the_one_the_outermost_proxy_saw(settings, hops, forwarded, expected):
    settings.TRUSTED_PROXY_HOPS = hops
    assert client_ip(request(forwarded)) == expected


def test_a_forwarded_header_shorter_than_the_proxy_chain_falls_back_to_the_connection(settings):
    settings.TRUSTED_PROXY_HOPS = 2
    assert client_ip(request("10.0.0.9")) == "192.0.2.10"
    assert client_ip(request()) == "192.0.2.10"


@pytest.mark.django_db
def test_many_browser_sessions_from_one_address_share_its_looser_limit(settings):
    from django.core.cache import cache
    from django.test import Client

    from study.models import Study
    from tests.factories import CatalogFactory

    cache.clear()
    settings.TRUSTED_PROXY_HOPS = 0
    settings.PARTICIPANT_RATE_LIMITS = {**settings.PARTICIPANT_RATE_LIMITS, "answer": (100, 3, 60)}
    study = Study.objects.create(slug="limits", title="Limits", catalog=CatalogFactory(), consent_text="ok",
                                 state=Study.State.OPEN)
    codes = []
    for _ in range(5):  # a new browser (no session) each time, one address: only the address's count grows
        browser = Client()
        codes.append(browser.post(f"/s/{study.slug}/answer/", "{}", content_type="application/json").status_code)
    assert 429 not in codes[:3] and codes[3:] == [429, 429]
    cache.clear()


@pytest.mark.parametrize(("raw", "expected"), [("true", True), (" YES ", True), ("1", True), ("off", False), ("0", False)])
def test_booleans_read_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("SOME_FLAG", raw)
    assert env_bool("SOME_FLAG", not expected) is expected


def test_a_nonsense_setting_stops_start_up_naming_the_variable(monkeypatch):
    monkeypatch.setenv("DEBUG_ISH", "maybe")
    with pytest.raises(ImproperlyConfigured, match="DEBUG_ISH='maybe' is not a boolean"):
        env_bool("DEBUG_ISH", False)
    monkeypatch.setenv("WORKERS", "two")
    with pytest.raises(ImproperlyConfigured, match="WORKERS='two' is not an integer"):
        env_int("WORKERS", 2)


def test_unset_or_blank_settings_take_their_defaults(monkeypatch):
    monkeypatch.delenv("UNSET_ONE", raising=False)
    monkeypatch.setenv("BLANK_ONE", "  ")
    assert env_bool("UNSET_ONE", True) is True and env_bool("BLANK_ONE", False) is False
    assert env_int("UNSET_ONE", 7) == 7 and env_int("BLANK_ONE", 8) == 8
    assert env_list("BLANK_ONE", ["a"]) == ["a"] and env_str("UNSET_ONE", "x") == "x"


def test_lists_are_comma_separated_and_trimmed(monkeypatch):
    monkeypatch.setenv("HOSTS", " example.org, ,www.example.org ,")
    assert env_list("HOSTS") == ["example.org", "www.example.org"]
