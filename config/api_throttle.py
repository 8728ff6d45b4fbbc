"""Anonymous and bad-token requests to the researchers' API, throttled by address.

DRF throttles a request only after authenticating it and checking its permissions, so a request with no
token or a wrong one is refused (401/403) before any throttle runs: without this, guessing tokens or
hammering the API anonymously costs nothing. Each refused /api/ request counts against its address; past
the anonymous rate (API_THROTTLE_ANON, e.g. "60/hour") an address gets 429 before anything else runs, until
its window ends. Requests that succeed never count, so researchers behind one address are not slowed.
"""
from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import caches
from django.http import JsonResponse
from rest_framework.throttling import SimpleRateThrottle

from config.ratelimit import client_ip

logger = logging.getLogger(__name__)
REFUSED = (401, 403)


def _rate() -> tuple[int, int]:
    """(requests, seconds) of the API's anonymous rate."""
    rate = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["anon"]
    return SimpleRateThrottle.parse_rate(None, rate)


class RefusedApiRequestThrottle:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/api/"):
            return self.get_response(request)
        limit, window_s = _rate()
        key = f"api-refused:{client_ip(request)}:{int(time.time() // window_s)}"
        cache = caches["default"]
        try:
            refused = cache.get(key, 0)
        except Exception:  # a cache that is away lets the request through, as the participants' limits do
            logger.warning("API throttle cache unreachable", exc_info=True)
            return self.get_response(request)
        if refused >= limit:
            return JsonResponse({"detail": "Too many refused requests from this address; try again later."},
                                status=429, headers={"Retry-After": str(window_s)})
        response = self.get_response(request)
        if response.status_code in REFUSED:
            try:
                cache.add(key, 0, timeout=window_s + 1)
                cache.incr(key)
            except Exception:
                logger.warning("API throttle cache unreachable", exc_info=True)
        return response
