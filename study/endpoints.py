"""What a participant's page calls without leaving it: the waiting page's status poll, each player event (a
beacon), and each answer as it is given. JSON in and out; the participant is the browser's, as on every page."""
import json

from django.http import Http404, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from config.ratelimit import rate_limit
from study import services
from study.serializers import AnswerSerializer, ListenEventSerializer, first_error
from study.views import current_participant, page_url


@never_cache
@rate_limit("status")
def status(request, slug):
    _study, participant = current_participant(request, slug)
    if participant is None:
        raise Http404("No participant in this browser.")
    state = services.participant_poll_recommendations(participant=participant)
    participant.refresh_from_db(fields=["page"])
    return JsonResponse({**state, "next": page_url(participant)})


@require_POST
@rate_limit("listen")
def listen(request, slug):
    """Record one player event (sent with navigator.sendBeacon, so it arrives even as the tab closes)."""
    _study, participant = current_participant(request, slug)
    if participant is None:
        return JsonResponse({"error": "No participant in this browser."}, status=403)
    # A beacon sends form data: it cannot set headers, so the CSRF token travels as a field.
    event = ListenEventSerializer(data=request.POST)
    if not event.is_valid():
        field, message = first_error(event)
        return JsonResponse({"error": "Malformed event.", "field": field, "detail": message}, status=400)
    try:
        services.listening_record(
            participant=participant, track_id=event.validated_data["track"], kind=event.validated_data["event"],
            position_s=event.validated_data["position"], listened_s=event.validated_data["listened"],
        )
    except services.TooManyEvents as error:
        return JsonResponse({"error": str(error)}, status=429)
    except services.FlowError as error:
        return JsonResponse({"error": str(error)}, status=409)
    return JsonResponse({"saved": True})


def _reject_constant(name):
    raise ValueError(f"{name} is not a number JSON allows")


def _json_object(request) -> dict:
    """The request's JSON object; Infinity, NaN, huge numbers and deep nesting are malformed, not errors."""
    try:
        payload = json.loads(request.body, parse_constant=_reject_constant)
    except (ValueError, RecursionError, UnicodeDecodeError):
        raise ValueError("malformed JSON") from None
    if not isinstance(payload, dict):
        raise ValueError("a JSON object is expected")
    return payload


@require_POST
@rate_limit("answer")
def answer(request, slug):
    """Save one answer as soon as it is given (called by the page's script); the latest choice wins."""
    _study, participant = current_participant(request, slug)
    if participant is None:
        return JsonResponse({"error": "No participant in this browser."}, status=403)
    try:
        answer = AnswerSerializer(data=_json_object(request))
    except ValueError:
        return JsonResponse({"error": "Malformed answer."}, status=400)
    if not answer.is_valid():
        field, message = first_error(answer)
        return JsonResponse({"error": "Malformed answer.", "field": field, "detail": message}, status=400)
    data = answer.validated_data
    try:
        saved = services.response_save(
            participant=participant, item_code=data["item"], value=data["value"],
            recommendation_id=data["recommendation"], seq=data["seq"],
        )
    except services.AnswerError as error:
        return JsonResponse({"error": str(error), "field": error.field, "retry_after": error.retry_after}, status=422)
    except services.FlowError as error:
        return JsonResponse({"error": str(error), "next": page_url(participant)}, status=409)
    return JsonResponse({"saved": saved.saved, "value": saved.value, "seq": saved.seq})
