"""Participant pages. Each is thin: find the participant, call a service, render or redirect.

The server owns the participant's position (``Participant.page``): every page
view goes through ``participant_page``, which sends a request for any other
page to the one the participant is on, so reloads, back buttons and typed URLs
need no special cases.
"""
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import get_language, gettext_noop
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from rest_framework.exceptions import ValidationError

from config.ratelimit import client_ip, over_limits, rate_limit
from study import flow, services
from study.models import Participant, Study
from study.serializers import DigitsIdField
from study.templatetags.study_tags import answer_field

Page = Participant.Page
HIGHLIGHT_MISSING = "highlight-missing"


def participant_session_key(study: Study) -> str:
    """Where a browser's session keeps its participant of ``study`` (a researcher's preview sets it too)."""
    return f"participant:{study.pk}"


def page_url(participant: Participant) -> str:
    return reverse(f"study:{participant.page}", args=[participant.study.slug])


def _language() -> str:
    return (get_language() or settings.LANGUAGE_CODE).split("-")[0]


def _speak(request, participant: Participant | None) -> None:
    """Once a participant has consented in a language, every page and message stays in it.

    A later link without ``?lang=`` (or with another one), or another browser, must not switch
    a participant mid-study: the conditions would then differ in language, and the exported
    ``language`` would no longer be the one they read. Before consent the browser's choice holds.
    """
    if participant is not None and participant.language in dict(settings.LANGUAGES):
        translation.activate(participant.language)
        request.LANGUAGE_CODE = participant.language


def current_participant(request, slug: str) -> tuple[Study, Participant | None]:
    """The study and this browser's participant in it. The study's texts are read only by pages that show
    them (``study.texts``), so the JSON endpoints a page calls for every answer and player event skip them."""
    study = get_object_or_404(Study, slug=slug)
    token = request.session.get(participant_session_key(study))
    participant = (
        Participant.objects.filter(study=study, token=token).select_related("assignment__condition").first()
        if token
        else None
    )
    if participant is not None:
        participant.study = study  # the same row: services that read participant.study need not fetch it again
    _speak(request, participant)
    return study, participant


def _render(request, template: str, study: Study, participant: Participant | None = None, status: int = 200, **context):
    """A participant page: the study's texts in the page's language, and where in the study this is."""
    step = flow.step(participant.page, study) if participant else None
    context = {"study": study, "texts": study.texts(_language()), "participant": participant, "step": step, **context}
    return render(request, template, context, status=status)


def participant_page(page):
    """Serve ``page`` only to a participant who is on it; everyone else is sent where they belong."""

    def decorator(view):
        @wraps(view)
        @never_cache
        def wrapper(request, slug):
            study, participant = current_participant(request, slug)
            if participant is None:
                return redirect("study:enter", slug=slug)
            if participant.page != page:
                return redirect(page_url(participant))
            if request.method == "GET":
                services.page_visit_enter(participant=participant)
            return view(request, study, participant)

        return wrapper

    return decorator


@never_cache
@rate_limit("enter")
def enter(request, slug):
    study = get_object_or_404(Study.objects.prefetch_related("translations"), slug=slug)
    if any(len(request.GET.getlist(name)) > 1 for name in ("PROLIFIC_PID", "STUDY_ID", "SESSION_ID")):
        # ?PROLIFIC_PID=A&PROLIFIC_PID=B: which one is this person? Never guess.
        return _render(request, "study/closed.html", study, status=400,
                       message=_("This study link names more than one Prolific ID or session; please use the "
                                 "link from Prolific as it is."))
    try:
        participant = services.participant_enter(
            study=study,
            session_token=request.session.get(participant_session_key(study)),
            prolific_pid=request.GET.get("PROLIFIC_PID", ""),
            prolific_study_id=request.GET.get("STUDY_ID", ""),
            prolific_session_id=request.GET.get("SESSION_ID", ""),
        )
    except services.InvalidLink as error:
        return _render(request, "study/closed.html", study, status=400, message=str(error))
    except services.OtherParticipantHere as error:
        _study, mine = current_participant(request, slug)
        return _render(request, "study/closed.html", study, status=409, message=str(error),
                       continue_url=page_url(mine) if mine else "")
    except services.FlowError as error:
        return _render(request, "study/closed.html", study, status=403, message=str(error))
    _speak(request, participant)
    request.session[participant_session_key(study)] = participant.token
    response = redirect(page_url(participant))
    # ?lang=de in the study link (say, on Prolific) chooses the language; otherwise the browser's.
    language = request.GET.get("lang", "")
    if language in dict(settings.LANGUAGES) and not participant.language:
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, samesite="Lax", secure=request.is_secure())
    return response


def _flow_error(request, error: services.FlowError, participant: Participant):
    messages.error(request, str(error))
    return redirect(page_url(participant))


@participant_page(Page.CONSENT)
def consent(request, study, participant):
    if request.method == "POST":
        services.participant_consent(
            participant=participant, agree=request.POST.get("consent") == "yes", language=_language()
        )
        return redirect(page_url(participant))
    return _render(request, "study/consent.html", study, participant)


@participant_page(Page.INSTRUCTIONS)
def instructions(request, study, participant):
    if request.method == "POST":
        services.participant_read_instructions(participant=participant)
        return redirect(page_url(participant))
    return _render(request, "study/instructions.html", study, participant, required_listening_s=study.required_listening_s)


@participant_page(Page.PRE)
def pre(request, study, participant):
    return _answer_page(
        request, study, participant, "study/questionnaire.html",
        {
            "heading": gettext_noop("A few questions about you"),
            "lead": gettext_noop("This helps us describe who took part."),
            "button": gettext_noop("Continue"),
        },
    )


def _positive_int(raw) -> int:
    """A form's id or page number, read as the player-event endpoint reads a track id."""
    try:
        return DigitsIdField().run_validation(raw)
    except ValidationError:
        raise services.FlowError(_("That request was malformed; please try again.")) from None


def _choice_state(study: Study, liked: list) -> dict:
    return {
        "liked": [{"id": t.pk, "title": t.title, "artist": t.artist} for t in liked],
        "n": len(liked),
        "can_continue": study.liked_enough(len(liked)),
        "full": study.liked_full(len(liked)),
    }


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@participant_page(Page.CHOOSE)
def choose(request, study, participant):
    query = request.GET.get("q", "") if request.method == "GET" else request.POST.get("q", "")
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action in ("like", "unlike"):
                liked = services.participant_like(
                    participant=participant, track_id=_positive_int(request.POST.get("track")), liked=action == "like"
                )
                if _wants_json(request):  # the page's script: no reload, so scroll and playing clip stay
                    return JsonResponse(_choice_state(study, liked))
                params = {key: request.POST[key] for key in ("q", "page") if request.POST.get(key)}
                return redirect(reverse("study:choose", args=[study.slug]) + (f"?{urlencode(params)}" if params else ""))
            if action == "continue":
                services.participant_confirm_liked(participant=participant)
        except services.FlowError as error:
            if _wants_json(request):
                return JsonResponse({"error": str(error), **_choice_state(study, list(participant.liked_tracks.all()))}, status=409)
            return _flow_error(request, error, participant)
        return redirect(page_url(participant))
    try:
        page_number = _positive_int(request.GET.get("page", "1"))
    except services.FlowError:
        page_number = 1
    liked = list(participant.liked_tracks.order_by("title"))
    results = services.catalog_search(study=study, query=query, page=page_number)
    return _render(
        request, "study/choose.html", study, participant,
        query=query, results=results, liked=liked, liked_ids={t.pk for t in liked},
        can_continue=study.liked_enough(len(liked)), full=study.liked_full(len(liked)),
        page_links=list(range(1, results.pages + 1)),
    )


@participant_page(Page.WAIT)
def wait(request, study, participant):
    if request.method == "POST":
        per_session, per_ip, window_s = settings.PARTICIPANT_RATE_LIMITS["retry"]
        limits = [(f"s:{request.session.session_key or ''}", per_session), (f"ip:{client_ip(request)}", per_ip)]
        if over_limits("retry", limits, window_s):  # the page says to wait; nothing is sent
            return redirect(page_url(participant))
        try:
            services.participant_retry_recommendations(participant=participant)
        except services.FlowError as error:
            return _flow_error(request, error, participant)
        return redirect(page_url(participant))
    status = services.participant_poll_recommendations(participant=participant)
    if status["ready"]:
        participant.refresh_from_db(fields=["page"])
        return redirect(page_url(participant))
    return _render(request, "study/wait.html", study, participant, status=200, poll=status)


def _stored_answers(participant: Participant) -> tuple[dict[str, int], dict[str, int]]:
    """Given answers and their save numbers, keyed like the form fields."""
    values, seqs = {}, {}
    for code, recommendation_id, value, seq in participant.responses.values_list(
        "item__code", "recommendation_id", "value", "client_seq"
    ):
        field = answer_field(code, recommendation_id)
        values[field], seqs[field] = value, seq
    return values, seqs


def _answer_page(request, study, participant, template, extra, status=200):
    section = flow.section_of(participant.page)
    answers, seqs = _stored_answers(participant)
    missing = set()
    if request.method == "POST":
        try:
            services.participant_submit_page(participant=participant, answers=request.POST)
        except services.AnswerError as error:
            # Nothing from this submit was stored: show the page as it was sent, with the error on its question.
            messages.error(request, str(error))
            posted = {
                name: number for name, value in request.POST.items()
                if name != "csrfmiddlewaretoken" and (number := services.form_integer(value)) is not None
            }
            if isinstance(error, services.StaleAnswer):
                posted.pop(error.field, None)  # show the newer answer given in the other tab, not this page's
            answers, missing, status = {**answers, **posted}, {error.field}, 422
        except services.FlowError as error:
            # Outline the unanswered questions, but only after an attempt to move on.
            request.session[HIGHLIGHT_MISSING] = True
            return _flow_error(request, error, participant)
        else:
            return redirect(page_url(participant))
    elif request.session.pop(HIGHLIGHT_MISSING, False):
        missing = {answer_field(code, rid) for rid, code in services.missing_answers(participant, section)}
    return _render(
        request, template, study, participant, status=status,
        items=services.participant_items(participant=participant, section=section), answers=answers, seqs=seqs,
        missing=missing,
        **extra,
    )


@participant_page(Page.RATE)
def rate(request, study, participant):
    recommendations = list(participant.recommendations.select_related(
        "track", "seed_track", "feature_explanation", "spectrogram_explanation"
    ))
    if study.required_listening_s:
        heard = services.participant_listening(participant=participant)
        for recommendation in recommendations:
            recommendation.heard_s = int(heard.get(recommendation.pk, 0.0))
    return _answer_page(
        request, study, participant, "study/rate.html",
        {"recommendations": recommendations, "condition": participant.condition},
    )


def _test_page(request, study, participant):
    """One understanding-test trial at a time; an answer is kept once and the next trial follows."""
    if request.method == "POST":
        try:
            services.trial_answer(
                participant=participant, trial_id=_positive_int(request.POST.get("trial")),
                choice=request.POST.get("choice", ""), confidence=services.form_integer(request.POST.get("confidence")),
                client_ms=services.form_integer(request.POST.get("client_ms")),
            )
        except services.FlowError as error:
            return _flow_error(request, error, participant)
        return redirect(page_url(participant))
    trial, total = services.participant_current_trial(participant=participant)
    if trial is None:  # nothing (left) to answer: the service has moved the participant on
        return redirect(page_url(participant))
    heard = services.participant_trial_listening(participant=participant) if study.required_listening_s else {}
    options = [
        {"side": side, "letter": letter, "track": track, "heard_s": int(heard.get((trial.pk, track.pk), 0.0))}
        for side, letter, track in (("left", "A", trial.left_track), ("right", "B", trial.right_track))
    ]
    return _render(
        request, "study/test.html", study, participant, trial=trial, total=total, options=options,
        phase=trial.phase, confidence_points=range(1, services.CONFIDENCE_POINTS + 1),
    )


@participant_page(Page.PRETEST)
def pretest(request, study, participant):
    return _test_page(request, study, participant)


@participant_page(Page.POSTTEST)
def posttest(request, study, participant):
    return _test_page(request, study, participant)


@participant_page(Page.QUESTIONNAIRE)
def questionnaire(request, study, participant):
    return _answer_page(
        request, study, participant, "study/questionnaire.html",
        {
            "heading": gettext_noop("A few questions about the recommendations"),
            "lead": gettext_noop("Please say how much you agree with each statement."),
            "button": gettext_noop("Finish"),
        },
    )


#: How the debrief names each explanation a group saw, in the participant's language.
GROUP_NAMES = {
    "features": gettext_noop("charts of musical features"),
    "spectrogram": gettext_noop("pictures of the sound (spectrograms)"),
    "both": gettext_noop("both charts and pictures of the sound"),
    "tags": gettext_noop("words describing the sound (tags)"),
    "none": gettext_noop("no explanation"),
}


@participant_page(Page.DONE)
def done(request, study, participant):
    # The debrief names the groups this study really had, not every kind Resonance can show.
    shown = services.study_explanations_shown(study) | (
        {participant.condition.explanation} if participant.condition else set())
    groups = [_(GROUP_NAMES[kind]) for kind in GROUP_NAMES if kind in shown]
    scores = services.participant_test_scores(participant=participant)
    return _render(request, "study/done.html", study, participant, groups=groups, pre_score=scores.get("pre"),
                   post_score=scores.get("post"))


@participant_page(Page.DECLINED)
def declined(request, study, participant):
    # What is kept of someone who declined, and for how long, is said on the page.
    return _render(request, "study/declined.html", study, participant, retention_days=settings.RETENTION_DAYS)
