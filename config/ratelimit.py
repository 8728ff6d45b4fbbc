"""A fixed-window rate limit for participants' endpoints, by browser session and by IP address.

Counts live in Django's cache (the process's memory on the embedded default; Redis, shared by every
web worker, where CACHE_URL names it). A request over a limit gets 429 and changes nothing.
"""
from __future__ import annotations

import logging
import time
from functools import wraps

from django.core.cache import cache
from django.http import JsonResponse
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)


def client_ip(request) -> str:
    """The address the request came from: the proxy's X-Forwarded-For first hop where one is trusted."""
    from django.conf import settings

    if settings.TRUSTED_PROXY_HOPS:
        forwarded = [a.strip() for a in request.headers.get("X-Forwarded-For", "").split(",") if a.strip()]
        if len(forwarded) >= settings.TRUSTED_PROXY_HOPS:
            return forwarded[-settings.TRUSTED_PROXY_HOPS]
    return request.META.get("REMOTE_ADDR", "")


def over_limit(scope: str, key: str, limit: int, window_s: int) -> bool:
    """Count one request of ``key`` in this window; True when it is past ``limit``.

    A cache that cannot be reached (Redis restarting) lets the request through: a participant's answer
    matters more than a limit that guards against floods.
    """
    bucket = f"ratelimit:{scope}:{key}:{int(time.time() // window_s)}"
    try:
        cache.add(bucket, 0, timeout=window_s + 1)
        try:
            return cache.incr(bucket) > limit
        except ValueError:  # the bucket expired between add and incr
            cache.set(bucket, 1, timeout=window_s + 1)
            return False
    except Exception:  # redis-py's ConnectionError/TimeoutError, or any other cache backend's failure
        logger.warning("Rate-limit cache unreachable; letting %s through", scope, exc_info=True)
        return False


def rate_limit(scope: str):
    """Refuse (429) a view's requests past settings.PARTICIPANT_RATE_LIMITS[scope] = (per browser session,
    per address, window in seconds). The per-address limit is looser: many participants may share one."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            from django.conf import settings

            per_session, per_ip, window_s = settings.PARTICIPANT_RATE_LIMITS[scope]
            session = request.session.session_key or ""
            if (session and over_limit(scope, f"s:{session}", per_session, window_s)) or over_limit(
                scope, f"ip:{client_ip(request)}", per_ip, window_s
            ):
                return JsonResponse({"error": _("Too many requests; please wait a moment.")}, status=429,
                                    headers={"Retry-After": str(window_s)})
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
