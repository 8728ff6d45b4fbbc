"""Participant pages. Each is thin: find the participant, call a service, render or redirect.

The server owns the participant's position (``Participant.page``): every page
view goes through ``participant_page``, which sends a request for any other
page to the one the participant is on, so reloads, back buttons and typed URLs
need no special cases.
"""
import json
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from study import services
from study.models import Item, Participant, Study
from study.templatetags.study_tags import answer_field

Page = Participant.Page
HIGHLIGHT_MISSING = "highlight-missing"


def _session_key(study: Study) -> str:
    return f"participant:{study.pk}"


def _page_url(participant: Participant) -> str:
    return reverse(f"study:{participant.page}", args=[participant.study.slug])


def _current_participant(request, slug: str) -> tuple[Study, Participant | None]:
    study = get_object_or_404(Study, slug=slug)
    token = request.session.get(_session_key(study))
    participant = (
        Participant.objects.filter(study=study, token=token).select_related("assignment__condition").first()
        if token
        else None
    )
    return study, participant


def participant_page(page):
    """Serve ``page`` only to a participant who is on it; everyone else is sent where they belong."""

    def decorator(view):
        @wraps(view)
        @never_cache
        def wrapper(request, slug):
            study, participant = _current_participant(request, slug)
            if participant is None:
                return redirect("study:enter", slug=slug)
            if participant.page != page:
                return redirect(_page_url(participant))
            if request.method == "GET":
                services.page_visit_enter(participant=participant)
            return view(request, study, participant)

        return wrapper

    return decorator


@never_cache
def enter(request, slug):
    study = get_object_or_404(Study, slug=slug)
    try:
        participant = services.participant_enter(
            study=study,
            session_token=request.session.get(_session_key(study)),
            prolific_pid=request.GET.get("PROLIFIC_PID", "").strip()[:64],
            prolific_study_id=request.GET.get("STUDY_ID", "").strip()[:64],
            prolific_session_id=request.GET.get("SESSION_ID", "").strip()[:64],
        )
    except services.FlowError as error:
        return render(request, "study/closed.html", {"study": study, "message": str(error)}, status=403)
    request.session[_session_key(study)] = participant.token
    response = redirect(_page_url(participant))
    # ?lang=de in the study link (say, on Prolific) chooses the language; otherwise the browser's.
    language = request.GET.get("lang", "")
    if language in dict(settings.LANGUAGES):
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, samesite="Lax", secure=request.is_secure())
    return response


def _flow_error(request, error: services.FlowError, participant: Participant):
    messages.error(request, str(error))
    return redirect(_page_url(participant))


@participant_page(Page.CONSENT)
def consent(request, study, participant):
    if request.method == "POST":
        services.participant_consent(participant=participant, agree=request.POST.get("consent") == "yes")
        return redirect(_page_url(participant))
    return render(request, "study/consent.html", {"study": study, "participant": participant})


@participant_page(Page.INSTRUCTIONS)
def instructions(request, study, participant):
    if request.method == "POST":
        services.participant_read_instructions(participant=participant)
        return redirect(_page_url(participant))
    return render(
        request, "study/instructions.html",
        {"study": study, "participant": participant, "required_listening_s": study.required_listening_s},
    )


@participant_page(Page.PRE)
def pre(request, study, participant):
    return _answer_page(
        request, study, participant, Item.Section.PRE, "study/questionnaire.html",
        {
            "heading": gettext_noop("A few questions about you"),
            "lead": gettext_noop("This helps us describe who took part."),
            "button": gettext_noop("Continue"),
        },
    )


@participant_page(Page.CHOOSE)
def choose(request, study, participant):
    if request.method == "POST":
        try:
            action = request.POST.get("action")
            if action in ("like", "unlike"):
                services.participant_like(
                    participant=participant, track_id=_int(request.POST.get("track")), liked=action == "like"
                )
                query = request.POST.get("q", "")
                return redirect(reverse("study:choose", args=[study.slug]) + (f"?{urlencode({'q': query})}" if query else ""))
            if action == "continue":
                services.participant_confirm_liked(participant=participant)
        except services.FlowError as error:
            return _flow_error(request, error, participant)
        return redirect(_page_url(participant))
    query = request.GET.get("q", "")
    liked = list(participant.liked_tracks.order_by("title"))
    return render(
        request,
        "study/choose.html",
        {
            "study": study,
            "participant": participant,
            "query": query,
            "results": services.catalog_search(study=study, query=query),
            "liked": liked,
            "liked_ids": {t.pk for t in liked},
            "can_continue": study.min_liked <= len(liked) <= study.max_liked,
        },
    )


def _int(raw) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise services.FlowError(_("That request was malformed; please try again.")) from None


@participant_page(Page.WAIT)
def wait(request, study, participant):
    if services.participant_poll_recommendations(participant=participant):
        participant.refresh_from_db(fields=["page"])
        return redirect(_page_url(participant))
    return render(request, "study/wait.html", {"study": study, "participant": participant})


@never_cache
def status(request, slug):
    study, participant = _current_participant(request, slug)
    if participant is None:
        raise Http404("No participant in this browser.")
    ready = services.participant_poll_recommendations(participant=participant)
    participant.refresh_from_db(fields=["page"])
    return JsonResponse({"ready": ready, "next": _page_url(participant)})


def _answers(participant: Participant) -> dict[str, int]:
    """Given answers keyed like the form fields, to check the radios already answered."""
    return {
        answer_field(code, recommendation_id): value
        for code, recommendation_id, value in participant.responses.values_list(
            "item__code", "recommendation_id", "value"
        )
    }


def _save_posted_answers(request, participant: Participant, section: str) -> None:
    items = Item.objects.filter(study=participant.study_id, section=section)
    recommendation_ids = (
        list(participant.recommendations.values_list("pk", flat=True)) if section == Item.Section.RATING else [None]
    )
    for item in items:
        for recommendation_id in recommendation_ids:
            raw = request.POST.get(answer_field(item.code, recommendation_id))
            if raw not in (None, ""):
                services.response_save(
                    participant=participant, item_code=item.code, value=raw, recommendation_id=recommendation_id
                )


def _answer_page(request, study, participant, section, template, extra):
    if request.method == "POST":
        try:
            _save_posted_answers(request, participant, section)
            services.participant_finish_page(participant=participant)
        except services.FlowError as error:
            # Outline the unanswered questions, but only after an attempt to move on.
            request.session[HIGHLIGHT_MISSING] = True
            return _flow_error(request, error, participant)
        return redirect(_page_url(participant))
    highlight = request.session.pop(HIGHLIGHT_MISSING, False)
    context = {
        "study": study,
        "participant": participant,
        "items": list(Item.objects.filter(study=study, section=section)),
        "answers": _answers(participant),
        "missing": (
            {answer_field(code, rid) for rid, code in services.missing_answers(participant, section)}
            if highlight
            else set()
        ),
        **extra,
    }
    return render(request, template, context)


@participant_page(Page.RATE)
def rate(request, study, participant):
    recommendations = participant.recommendations.select_related(
        "track", "seed_track", "feature_explanation", "spectrogram_explanation"
    )
    return _answer_page(
        request, study, participant, Item.Section.RATING, "study/rate.html",
        {"recommendations": recommendations, "condition": participant.condition},
    )


@participant_page(Page.QUESTIONNAIRE)
def questionnaire(request, study, participant):
    return _answer_page(
        request, study, participant, Item.Section.QUESTIONNAIRE, "study/questionnaire.html",
        {
            "heading": gettext_noop("A few questions about the recommendations"),
            "lead": gettext_noop("Please say how much you agree with each statement."),
            "button": gettext_noop("Finish"),
        },
    )


@require_POST
def listen(request, slug):
    """Record one player event (sent with navigator.sendBeacon, so it arrives even as the tab closes)."""
    study, participant = _current_participant(request, slug)
    if participant is None:
        return JsonResponse({"error": "No participant in this browser."}, status=403)
    # A beacon sends form data: it cannot set headers, so the CSRF token travels as a field.
    payload = request.POST
    try:
        services.listening_record(
            participant=participant,
            track_id=int(payload["track"]),
            kind=str(payload["event"]),
            position_s=float(payload["position"]),
            listened_s=float(payload.get("listened", 0)),
        )
    except services.FlowError as error:
        return JsonResponse({"error": str(error)}, status=409)
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"error": "Malformed event."}, status=400)
    return JsonResponse({"saved": True})


@require_POST
def answer(request, slug):
    """Save one answer as soon as it is given (called by the page's script); idempotent."""
    study, participant = _current_participant(request, slug)
    if participant is None:
        return JsonResponse({"error": "No participant in this browser."}, status=403)
    try:
        payload = json.loads(request.body)
        services.response_save(
            participant=participant,
            item_code=str(payload["item"]),
            value=payload["value"],
            recommendation_id=payload.get("recommendation"),
        )
    except services.FlowError as error:
        return JsonResponse({"error": str(error), "next": _page_url(participant)}, status=409)
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"error": "Malformed answer."}, status=400)
    return JsonResponse({"saved": True})


@participant_page(Page.DONE)
def done(request, study, participant):
    return render(request, "study/done.html", {"study": study, "participant": participant})


@participant_page(Page.DECLINED)
def declined(request, study, participant):
    return render(request, "study/declined.html", {"study": study, "participant": participant})
