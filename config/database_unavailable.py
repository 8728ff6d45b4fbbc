"""A database that is away for a moment (PostgreSQL restarting) is a friendly "try again", never a bare 500.

The participant's page says, in their language, that their answers so far are saved and to reload in a few
seconds; the page script, which already retries a save that fails, gets a JSON 503 with Retry-After. The
next request opens a fresh connection (CONN_HEALTH_CHECKS), so nothing is lost and nobody is stuck.
"""
import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

RETRY_AFTER_S = 5


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        logger.error("Database unavailable while answering %s %s", request.method, request.path, exc_info=exception)
        headers = {"Retry-After": str(RETRY_AFTER_S)}
        wants_json = request.content_type == "application/json" or "application/json" in request.headers.get("Accept", "")
        if wants_json:
            return JsonResponse(
                {"error": _("The study could not answer just now; trying again."), "retry_after": RETRY_AFTER_S},
                status=503, headers=headers,
            )
        return HttpResponse(render_to_string("500.html", request=request), status=503, headers=headers)
