"""Every researcher page, action, export and API endpoint asks who may do it (study.access): the Django
permission and a role in that very study. Driven as four kinds of account would: a superuser, an assistant
with change rights who collaborates on one study, a staff user with view rights who only watches it, and a
staff user with no permission at all. Raw Prolific ids need their own permission and a reason, and are logged."""
import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from research.export import Options, long_rows
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


# The permission matrix of the README, row by row: each page, download and API endpoint of study A as each kind
# of account. 200 asserts content that only study A's page would hold (its slug and, in data, its pseudonymous
# participant); 404: the study does not exist for that account; 403: it does, but the role or permission stops short.
MATRIX_ACCOUNTS = ("superuser", "assistant", "watcher", "nobody", "owner")
MATRIX = [
    # (what, url, expected per account in MATRIX_ACCOUNTS order)
    ("monitor", lambda a: reverse("admin:study_study_monitor", args=[a.pk]), (200, 200, 200, 404, 200)),
    ("analysis", lambda a: reverse("admin:study_study_analysis", args=[a.pk]), (200, 200, 200, 404, 200)),
    ("gallery", lambda a: reverse("admin:study_study_gallery", args=[a.pk]) + "?n=1", (200, 200, 200, 404, 200)),
    ("preparation panel", lambda a: reverse("admin:study_study_prepare", args=[a.pk]), (200, 200, 200, 404, 200)),
    ("try the study", lambda a: reverse("admin:study_study_try", args=[a.pk]), (200, 200, 403, 404, 200)),
    ("delete on request", lambda a: reverse("admin:study_study_delete_participant", args=[a.pk]), (200, 403, 403, 404, 200)),
    ("download long", lambda a: reverse("admin:study_study_export", args=[a.pk, "long"]), (200, 200, 200, 404, 200)),
    ("download wide", lambda a: reverse("admin:study_study_export", args=[a.pk, "wide"]), (200, 200, 200, 404, 200)),
    ("download codebook", lambda a: reverse("admin:study_study_export", args=[a.pk, "codebook"]), (200, 200, 200, 404, 200)),
    ("participants", lambda a: reverse("admin:study_participant_changelist"), (200, 200, 200, 403, 403)),
    ("audit log", lambda a: reverse("admin:study_auditentry_changelist"), (200, 403, 403, 403, 403)),
    ("recommendations", lambda a: reverse("admin:study_recommendation_changelist"), (200, 403, 403, 403, 403)),
]
API = [
    ("api list", "/api/studies/", {}, (200, 200, 200, 200, 200)),
    ("api responses", "/api/studies/study-a/responses/", {}, (200, 200, 200, 404, 200)),
    ("api responses with ids", "/api/studies/study-a/responses/", {"include_prolific_pid": "1", "reason": "pay"},
     (200, 403, 403, 404, 200)),
    ("api export long", "/api/studies/study-a/export/", {"format": "long"}, (200, 200, 200, 404, 200)),
    ("api export csv", "/api/studies/study-a/export/", {"format": "csv", "reason": "pay"}, (200, 403, 403, 404, 200)),
]


def test_every_page_download_and_endpoint_answers_each_kind_of_account_as_the_matrix_says(lab):
    a, _b, accounts = lab
    (pseudonym,) = {row["participant"] for row in long_rows(a, Options())}
    for what, url, expected in MATRIX:
        for name, status in zip(MATRIX_ACCOUNTS, expected):
            page = _client(accounts[name]).get(url(a))
            assert page.status_code == status, (what, name, page.status_code)
            if status == 200 and what.startswith("download"):
                body = (b"".join(page.streaming_content) if page.streaming else page.content)
                assert len(body) > 100 and PID_A.encode() not in body and PID_B.encode() not in body, (what, name)
            elif status == 200 and what not in ("participants", "audit log", "recommendations", "analysis"):
                text = page.content.decode()
                assert "study-b" not in text and (a.title in text or a.slug in text), (what, name)
    for what, url, params, expected in API:
        for name, status in zip(MATRIX_ACCOUNTS, expected):
            answer = _api(accounts[name]).get(url, params)
            assert answer.status_code == status, (what, name, answer.status_code)
            if status != 200:
                continue
            body = answer.content.decode()
            assert (PID_B not in body and "study-b" not in body) or name == "superuser", (what, name)
            if what == "api list":
                slugs = {row["slug"] for row in answer.json()}
                assert slugs == ({"study-a", "study-b"} if name == "superuser" else {"study-a"} if name != "nobody"
                                 else set()), name
            elif "ids" in what or "csv" in what:
                assert PID_A in body, (what, name)
            else:
                assert PID_A not in body and pseudonym in body, (what, name)
    # Every read of raw ids is in the audit log, with who and why.
    logged = AuditEntry.objects.filter(action="export_identifying")
    assert sorted(logged.values_list("actor", flat=True)) == sorted(
        ["api:boss", "api:boss", "api:owner", "api:owner"])
    assert set(logged.values_list("detail__reason", flat=True)) == {"pay"}


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

    def act(name, action, *studies, follow=False, **extra):
        return _client(accounts[name]).post(
            changelist, {"action": action, "_selected_action": [s.pk for s in studies], **extra}, follow=follow)

    # Raw Prolific ids: not even offered without the permission; a study outside one's role is refused.
    refused = act("assistant", "export_responses_csv", a, reason="curious")
    assert not refused["Content-Type"].startswith("text/csv")
    assert act("owner", "export_responses_csv", b, reason="curious")["Content-Type"].startswith("text/html")
    assert not AuditEntry.objects.filter(action="export_identifying").exists()
    allowed = act("owner", "export_responses_csv", a, reason="bonus payments")
    assert allowed["Content-Type"].startswith("text/csv") and PID_A in allowed.content.decode()
    entry = AuditEntry.objects.get(action="export_identifying")
    assert entry.actor == "admin:owner" and entry.detail["reason"] == "bonus payments" and entry.study == a
    # Duplicating needs add_study and a role that may configure the original; the copy belongs to whoever made it.
    act("watcher", "duplicate_studies", a)
    assert not Study.objects.filter(slug__startswith="study-a-copy").exists()
    adder = _staff("adder", "study.view_study", "study.add_study")
    StudyMember.objects.create(study=a, user=adder, role=StudyMember.Role.VIEWER)
    refused = _client(adder).post(changelist, {"action": "duplicate_studies", "_selected_action": [a.pk]})
    assert refused.status_code == 403 and not Study.objects.filter(slug__startswith="study-a-copy").exists()
    act("assistant", "duplicate_studies", a)
    copy = Study.objects.get(slug="study-a-copy")
    assert list(copy.members.values_list("user__username", "role")) == [("assistant", "owner")]
    # Prerendering changes what the study holds: a viewer's request does nothing, a collaborator's sends the jobs.
    assert "sent" not in act("watcher", "prerender_explanations", a, follow=True).content.decode()
    assert "track pairs sent" in act("assistant", "prerender_explanations", a, follow=True).content.decode()
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


def test_catalog_pages_and_actions_follow_the_catalog_right_and_a_role_in_every_study_using_it(lab):
    from recommender.models import Catalog, Track

    a, b, accounts = lab
    spare = Catalog.objects.create(slug="spare", name="Spare")  # no study uses it yet
    Track.objects.create(catalog=spare, external_id="s1", title="Spare one", artist="X")
    catalogs = reverse("admin:recommender_catalog_changelist")
    editor = _staff("editor", "recommender.view_catalog", "recommender.change_catalog", "recommender.view_track",
                    "study.view_study", "study.change_study")
    reader = _staff("reader", "recommender.view_catalog")

    def listed(user):
        return {c.slug for c in _client(user).get(catalogs).context["cl"].result_list}

    def analyse(user, catalog):
        return _client(user).post(catalogs, {"action": "analyse_and_index", "_selected_action": [catalog.pk]}, follow=True)

    assert listed(editor) == {"spare"} and listed(reader) == {"spare"}  # the demo catalog is other studies'
    assert listed(accounts["superuser"]) == {"demo", "spare"}
    assert "tracks sent for analysis" in analyse(editor, spare).content.decode()
    refused = analyse(reader, spare)  # no right to change catalogs: the action is not even offered
    assert refused.status_code == 200 and "tracks sent for analysis" not in refused.content.decode()
    # A collaborator on study A sees its catalog, but B uses it too: changing it is not theirs alone.
    StudyMember.objects.create(study=a, user=editor, role=StudyMember.Role.COLLABORATOR)
    assert listed(editor) == {"demo", "spare"}
    assert analyse(editor, a.catalog).status_code == 403
    fetch = _client(editor).post(catalogs, {"action": "fetch_clips", "_selected_action": [a.catalog.pk]})
    assert fetch.status_code == 403
    # Configuring both studies, the right is there; but both have left draft, so the catalog's tracks are locked.
    StudyMember.objects.create(study=b, user=editor, role=StudyMember.Role.COLLABORATOR)
    Track.objects.filter(pk=a.catalog.tracks.first().pk).update(status=Track.Status.PENDING)
    page = analyse(editor, a.catalog).content.decode()
    assert "which has left draft" in page and "tracks sent for analysis" not in page
    # Tracks, analyses and indexes: only those of the catalogs one may see.
    tracks = _client(reader).get(reverse("admin:recommender_track_changelist"))
    assert tracks.status_code == 403  # no view_track
    assert {t.catalog.slug for t in _client(editor).get(reverse("admin:recommender_track_changelist")).context[
        "cl"].result_list} == {"demo", "spare"}
    assert _client(_staff("tracker", "recommender.view_track")).get(
        reverse("admin:recommender_track_changelist")).context["cl"].result_count == 1  # the spare catalog's one


def test_importing_into_a_catalog_other_studies_use_needs_a_role_in_each_of_them(lab, tmp_path):
    a, _b, _accounts = lab
    importer = _staff("importer", "recommender.add_catalog", "recommender.add_track", "recommender.view_catalog",
                      "study.view_study", "study.change_study")
    StudyMember.objects.create(study=a, user=importer, role=StudyMember.Role.COLLABORATOR)
    url = reverse("admin:recommender_catalog_import")
    page = _client(importer).get(url)
    assert [c.slug for c in page.context["form"].fields["catalog"].queryset] == ["demo"]
    upload = tmp_path / "more.csv"
    upload.write_text("id,title,artist\nnew-1,New,Ann\n", encoding="utf-8")
    with upload.open("rb") as handle:
        refused = _client(importer).post(url, {"catalog": a.catalog.pk, "format": "generic", "csv_file": handle})
    assert refused.status_code == 403  # study B uses the catalog too
    with upload.open("rb") as handle:
        fresh = _client(importer).post(url, {"new_catalog_name": "Mine", "format": "generic", "csv_file": handle})
    assert fresh.status_code == 302 and a.catalog.tracks.filter(external_id="new-1").count() == 0


def test_a_track_participants_touched_is_not_deleted_and_the_admin_says_what_holds_it(lab):
    a, _b, accounts = lab
    liked = a.participants.first().liked_tracks.first()
    url = reverse("admin:recommender_track_delete", args=[liked.pk])
    page = _client(accounts["superuser"]).post(url, {"post": "yes"})
    text = page.content.decode()
    assert page.status_code == 200 and "Cannot delete track" in text and "protected related objects" in text
    assert "was liked by 1 participant: their record keeps it" in text
    assert type(liked).objects.filter(pk=liked.pk).exists()


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
