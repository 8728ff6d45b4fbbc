"""Every researcher page, action, export and API endpoint asks who may do it (study.access): the Django
permission and a role in that very study. Driven as four kinds of account would: a superuser, an assistant
with change rights who collaborates on one study, a staff user with view rights who only watches it, and a
staff user with no permission at all. Raw Prolific ids need their own permission and a reason, and are logged."""
import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from study.access import Can, study_allows, user_participants, user_studies
from study.models import AuditEntry, Study, StudyMember
from tests.factories import make_study
from tests.participants import ParticipantBrowser

pytestmark = pytest.mark.django_db(transaction=True)

PID_A, PID_B = "5f3a9c0d1b2e4f6a7c8d9e0a", "5f3a9c0d1b2e4f6a7c8d9e0b"


def _staff(username, *permissions):
    user = User.objects.create_user(username, password="pw-" + username, is_staff=True)
    for codename in permissions:
        app, name = codename.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app, codename=name))
    return User.objects.get(pk=user.pk)  # permissions are cached on the instance


@pytest.fixture
def lab(demo_catalog, liked):
    """Study A (with members) and study B (nobody's but the superuser's), each with a participant who has a Prolific id."""
    a = make_study(demo_catalog, slug="study-a")
    b = make_study(demo_catalog, slug="study-b")
    for study, pid in ((a, PID_A), (b, PID_B)):
        browser = ParticipantBrowser(study)
        browser.get(PROLIFIC_PID=pid)
        browser.consent()
        if study is a:  # answers to export; B's participant need only exist, with an id
            browser.get_recommendations(*liked)
            browser.post("rate", browser.rating_answers())
    accounts = {
        "superuser": User.objects.create_superuser("boss", password="pw-boss"),
        "assistant": _staff("assistant", "study.view_study", "study.change_study", "study.add_study",
                            "study.view_participant"),
        "watcher": _staff("watcher", "study.view_study", "study.view_participant"),
        "nobody": _staff("nobody"),
        "owner": _staff("owner", "study.view_study", "study.change_study", "study.view_prolific_id",
                        "study.delete_participant"),
    }
    StudyMember.objects.create(study=a, user=accounts["assistant"], role=StudyMember.Role.COLLABORATOR)
    StudyMember.objects.create(study=a, user=accounts["watcher"], role=StudyMember.Role.VIEWER)
    StudyMember.objects.create(study=a, user=accounts["nobody"], role=StudyMember.Role.OWNER)  # a role, no permission
    StudyMember.objects.create(study=a, user=accounts["owner"], role=StudyMember.Role.OWNER)
    return a, b, accounts


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _api(user):
    client = Client()
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {Token.objects.get_or_create(user=user)[0].key}"
    return client


def test_each_account_sees_only_the_studies_its_role_and_permission_allow(lab):
    a, _b, accounts = lab
    seen = {name: set(user_studies(user).values_list("slug", flat=True)) for name, user in accounts.items()}
    assert seen == {"superuser": {"study-a", "study-b"}, "assistant": {"study-a"}, "watcher": {"study-a"},
                    "nobody": set(), "owner": {"study-a"}}
    assert [study_allows(user=accounts[n], study=a, can=Can.CONFIGURE) for n in ("assistant", "watcher", "owner")] == [
        True, False, True]
    assert not study_allows(user=accounts["assistant"], study=a, can=Can.IDENTIFY)  # no view_prolific_id
    assert study_allows(user=accounts["owner"], study=a, can=Can.IDENTIFY)
    assert not study_allows(user=accounts["assistant"], study=a, can=Can.DELETE_DATA)  # collaborators do not delete
    accounts["watcher"].is_active = False
    assert not user_studies(accounts["watcher"]).exists()
    assert set(user_participants(accounts["assistant"]).values_list("study__slug", flat=True)) == {"study-a"}


def test_the_study_list_and_each_study_page_answer_by_role(lab):
    a, b, accounts = lab
    expected = {"superuser": (200, 200, 200), "assistant": (200, 200, 302), "watcher": (200, 200, 302),
                "nobody": (403, 403, 403)}
    for name, (listing, own, other) in expected.items():
        client = _client(accounts[name])
        page = client.get(reverse("admin:study_study_changelist"))
        assert page.status_code == listing, name
        if listing == 200:
            assert ("study-b" in page.content.decode()) == (name == "superuser"), name
        assert client.get(reverse("admin:study_study_change", args=[a.pk])).status_code == own, name
        # Another study's page: the admin answers as for a study that does not exist.
        assert client.get(reverse("admin:study_study_change", args=[b.pk])).status_code == other, name
    # A viewer sees the study's page but cannot save it.
    form = _client(accounts["watcher"]).get(reverse("admin:study_study_change", args=[a.pk])).content.decode()
    assert 'name="_save"' not in form
    assert 'name="_save"' in _client(accounts["assistant"]).get(reverse("admin:study_study_change", args=[a.pk])).content.decode()


@pytest.mark.parametrize("page", ["study_study_monitor", "study_study_analysis", "study_study_gallery"])
def test_researcher_pages_answer_only_members_of_the_study(lab, page):
    a, b, accounts = lab
    for name, own, other in (("superuser", 200, 200), ("watcher", 200, 404), ("assistant", 200, 404), ("nobody", 404, 404)):
        client = _client(accounts[name])
        assert client.get(reverse(f"admin:{page}", args=[a.pk]), {"n": 1}).status_code == own, (name, page)
        assert client.get(reverse(f"admin:{page}", args=[b.pk]), {"n": 1}).status_code == other, (name, page)


def test_pseudonymous_downloads_follow_the_role_and_deletion_needs_an_owner(lab):
    a, b, accounts = lab
    url = reverse("admin:study_study_export", args=[a.pk, "long"])
    assert _client(accounts["watcher"]).get(url).status_code == 200
    assert _client(accounts["nobody"]).get(url).status_code == 404
    assert _client(accounts["watcher"]).get(reverse("admin:study_study_export", args=[b.pk, "long"])).status_code == 404
    delete = reverse("admin:study_study_delete_participant", args=[a.pk])
    assert _client(accounts["assistant"]).get(delete).status_code == 403  # a collaborator, not an owner
    assert _client(accounts["owner"]).get(delete).status_code == 200
    answer = _client(accounts["assistant"]).post(delete, {"prolific_pid": PID_A, "confirm": "on"})
    assert answer.status_code == 403 and a.participants.filter(prolific_pid=PID_A).exists()


def test_admin_actions_run_only_with_the_permission_they_declare(lab):
    a, b, accounts = lab
    changelist = reverse("admin:study_study_changelist")

    def act(name, action, *studies, **extra):
        return _client(accounts[name]).post(
            changelist, {"action": action, "_selected_action": [s.pk for s in studies], **extra})

    # Raw Prolific ids: not even offered without the permission; a study outside one's role is refused.
    refused = act("assistant", "export_responses_csv", a, reason="curious")
    assert not refused["Content-Type"].startswith("text/csv")
    assert act("owner", "export_responses_csv", b, reason="curious")["Content-Type"].startswith("text/html")
    assert not AuditEntry.objects.filter(action="export_identifying").exists()
    allowed = act("owner", "export_responses_csv", a, reason="bonus payments")
    assert allowed["Content-Type"].startswith("text/csv") and PID_A in allowed.content.decode()
    entry = AuditEntry.objects.get(action="export_identifying")
    assert entry.actor == "admin:owner" and entry.detail["reason"] == "bonus payments" and entry.study == a
    # Duplicating needs add_study; the copy belongs to whoever made it.
    act("watcher", "duplicate_studies", a)
    assert not Study.objects.filter(slug__startswith="study-a-copy").exists()
    act("assistant", "duplicate_studies", a)
    copy = Study.objects.get(slug="study-a-copy")
    assert list(copy.members.values_list("user__username", "role")) == [("assistant", "owner")]
    # Prerendering changes what the study holds: a viewer's request does nothing.
    assert "sent" not in act("watcher", "prerender_explanations", a, follow=True).content.decode()
    # The pseudonymous data package is a view right; a study outside one's role is not even listed.
    package = act("watcher", "export_data_package", a)
    assert package["Content-Type"] == "application/zip"
    assert act("watcher", "export_data_package", b)["Content-Type"] != "application/zip"


def test_the_participant_record_shows_own_studies_only_and_never_a_prolific_id(lab):
    a, b, accounts = lab
    page = _client(accounts["assistant"]).get(reverse("admin:study_participant_changelist")).content.decode()
    mine = a.participants.get()
    assert f"P{mine.pk}" in page and f"P{b.participants.get().pk}" not in page
    assert PID_A not in page and PID_B not in page
    detail = _client(accounts["superuser"]).get(reverse("admin:study_participant_change", args=[mine.pk])).content.decode()
    assert PID_A not in detail  # raw ids leave only through the logged exports
    assert _client(accounts["nobody"]).get(reverse("admin:study_participant_changelist")).status_code == 403
    responses = _client(accounts["assistant"]).get(reverse("admin:study_response_changelist")).content.decode()
    assert "study-b" not in responses and PID_A not in responses


def test_the_api_lists_and_exports_only_what_the_token_s_user_may_see(lab):
    _a, _b, accounts = lab
    listing = {name: [s["slug"] for s in _api(user).get("/api/studies/").json()] for name, user in accounts.items()}
    assert listing == {"superuser": ["study-a", "study-b"], "assistant": ["study-a"], "watcher": ["study-a"],
                       "nobody": [], "owner": ["study-a"]}
    nobody = _api(accounts["nobody"])
    for path in ("/api/studies/study-a/responses/", "/api/studies/study-a/export/?format=long",
                 "/api/studies/study-a/export/?format=csv&reason=x"):
        assert nobody.get(path).status_code == 404, path
    watcher = _api(accounts["watcher"])
    answers = watcher.get("/api/studies/study-a/responses/")
    assert answers.status_code == 200 and len(answers.json()) > 0
    assert PID_A not in answers.content.decode() and all(row["prolific_pid"] == "" for row in answers.json())
    assert watcher.get("/api/studies/study-b/responses/").status_code == 404
    for path in ("/api/studies/study-a/responses/?include_prolific_pid=1&reason=x",
                 "/api/studies/study-a/export/?format=csv&reason=x",
                 "/api/studies/study-a/export/?format=wide&include_prolific_pid=1&reason=x"):
        assert watcher.get(path).status_code == 403, path
    assert not AuditEntry.objects.filter(action="export_identifying").exists()
    owner = _api(accounts["owner"])
    assert owner.get("/api/studies/study-a/responses/?include_prolific_pid=1").status_code == 400  # no reason
    named = owner.get("/api/studies/study-a/responses/", {"include_prolific_pid": "1", "reason": "pay bonuses"})
    assert named.status_code == 200 and {row["prolific_pid"] for row in named.json()} == {PID_A}
    entry = AuditEntry.objects.get(action="export_identifying")
    assert entry.actor == "api:owner" and entry.detail == {**entry.detail, "reason": "pay bonuses", "format": "long"}


def test_importing_a_catalog_needs_the_permissions_to_add_catalogs_and_tracks(lab):
    _a, _b, accounts = lab
    url = reverse("admin:recommender_catalog_import")
    assert _client(accounts["nobody"]).get(url).status_code == 403
    assert _client(accounts["assistant"]).get(url).status_code == 403
    assert _client(accounts["superuser"]).get(url).status_code == 200


def test_only_an_owner_changes_who_works_on_the_study(lab):
    a, _b, accounts = lab
    owner_page = _client(accounts["owner"]).get(reverse("admin:study_study_change", args=[a.pk])).content.decode()
    assert 'name="members-0-role"' in owner_page
    assistant_page = _client(accounts["assistant"]).get(reverse("admin:study_study_change", args=[a.pk])).content.decode()
    assert 'name="members-0-role"' not in assistant_page and "watcher" in assistant_page


@pytest.mark.parametrize(("action", "allowed", "refused"), [
    ("download_configuration", "watcher", "nobody"),
    ("export_data_package_with_pilot", "watcher", "nobody"),
])
def test_every_download_action_follows_the_view_right(lab, action, allowed, refused):
    a, _b, accounts = lab
    changelist = reverse("admin:study_study_changelist")
    data = {"action": action, "_selected_action": [a.pk]}
    assert _client(accounts[allowed]).post(changelist, data)["Content-Type"] in ("application/json", "application/zip")
    assert _client(accounts[refused]).post(changelist, data).status_code == 403  # no study rights at all


def test_catalog_actions_need_the_right_to_change_catalogs(lab):
    a, _b, _accounts = lab
    catalogs = reverse("admin:recommender_catalog_changelist")
    editor = _staff("editor", "recommender.view_catalog", "recommender.change_catalog")
    reader = _staff("reader", "recommender.view_catalog")
    for user, may in ((editor, True), (reader, False)):
        page = _client(user).post(catalogs, {"action": "analyse_and_index", "_selected_action": [a.catalog.pk]},
                                  follow=True).content.decode()
        assert ("tracks sent for analysis" in page) == may, user.username


def test_the_entry_link_s_prolific_id_leaves_the_address_bar_at_once(lab):
    a, _b, _accounts = lab
    browser = ParticipantBrowser(a)
    page = browser.get(PROLIFIC_PID="5f3a9c0d1b2e4f6a7c8d9e0c")
    assert all("PROLIFIC_PID" not in url for url, _status in page.redirect_chain)
    assert "PROLIFIC_PID" not in page.request["QUERY_STRING"]


def test_a_reason_with_control_characters_is_logged_without_them(lab):
    # PostgreSQL's JSON refuses a NUL: a hostile or pasted reason must be logged cleanly, not answer 500.
    _a, _b, accounts = lab
    owner = _api(accounts["owner"])
    answer = owner.get("/api/studies/study-a/export/", {"format": "csv", "reason": "\x00pay\x1b[31m\tbonuses\u200b "})
    assert answer.status_code == 200
    assert AuditEntry.objects.get(action="export_identifying").detail["reason"] == "pay[31m bonuses"
    from research.export_files import _printable

    assert _printable("half\ud800 a pair") == "half a pair"  # an unpaired surrogate (a broken paste) is dropped
    assert owner.get("/api/studies/study-a/export/", {"format": "csv", "reason": "\x00\x07"}).status_code == 400
