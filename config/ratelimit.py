"""A fixed-window rate limit for participants' endpoints, by browser session and by IP address.

Counts live in Django's cache (the process's memory on the embedded default; Redis, shared by every
web worker, where CACHE_URL names it). A request over a limit gets 429 and changes nothing.
"""
from __future__ import annotations

import logging
import time
from functools import cache, wraps

import redis
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.http import JsonResponse
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)


def client_ip(request) -> str:
    """The address the request came from: the proxy's X-Forwarded-For first hop where one is trusted."""
    if settings.TRUSTED_PROXY_HOPS:
        forwarded = [a.strip() for a in request.headers.get("X-Forwarded-For", "").split(",") if a.strip()]
        if len(forwarded) >= settings.TRUSTED_PROXY_HOPS:
            return forwarded[-settings.TRUSTED_PROXY_HOPS]
    return request.META.get("REMOTE_ADDR", "")


@cache
def _redis(url: str, options: tuple[tuple[str, object], ...]) -> redis.Redis:
    """A Redis client of the limiter's own on the cache's server, with the cache's OPTIONS (redis-py's public
    API: Django's cache offers no pipelined increment). One per process, with its own connection pool."""
    return redis.Redis.from_url(url, **{"socket_connect_timeout": 2, "socket_timeout": 2, **dict(options)})


def _count_in_redis(client, keys: list[str], window_s: int) -> list[int]:
    """Count one request in each bucket in one round trip: INCR creates a missing bucket at 1, EXPIRE NX
    gives a new bucket its lifetime and leaves an older one's alone."""
    pipeline = client.pipeline(transaction=False)
    for key in keys:
        pipeline.incr(key)
        pipeline.expire(key, window_s + 1, nx=True)
    return pipeline.execute()[::2]


def _count_in_cache(cache, keys: list[str], window_s: int) -> list[int]:
    counts = []
    for key in keys:
        cache.add(key, 0, timeout=window_s + 1)
        try:
            counts.append(cache.incr(key))
        except ValueError:  # the bucket expired between add and incr
            cache.set(key, 1, timeout=window_s + 1)
            counts.append(1)
    return counts


def over_limits(scope: str, limits: list[tuple[str, int]], window_s: int) -> bool:
    """Count one request of each (key, limit) in this window; True when any is past its limit.

    On Redis the counts take one round trip for all keys (this runs on every answer save and player event);
    on any other cache, Django's add and incr. A cache that cannot be reached (Redis restarting) lets the
    request through: a participant's answer matters more than a limit that guards against floods.
    """
    window = int(time.time() // window_s)
    keys = [f"ratelimit:{scope}:{key}:{window}" for key, _limit in limits]
    backend = caches["default"]
    try:
        if isinstance(backend, RedisCache):
            configured = settings.CACHES["default"]
            client = _redis(configured["LOCATION"], tuple(sorted(configured.get("OPTIONS", {}).items())))
            counts = _count_in_redis(client, [backend.make_and_validate_key(key) for key in keys], window_s)
        else:
            counts = _count_in_cache(backend, keys, window_s)
    except Exception:  # redis-py's ConnectionError/TimeoutError, or any other cache backend's failure
        logger.warning("Rate-limit cache unreachable; letting %s through", scope, exc_info=True)
        return False
    return any(count > limit for count, (_key, limit) in zip(counts, limits, strict=True))


def rate_limit(scope: str):
    """Refuse (429) a view's requests past settings.PARTICIPANT_RATE_LIMITS[scope] = (per browser session,
    per address, window in seconds). The per-address limit is looser: many participants may share one."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            per_session, per_ip, window_s = settings.PARTICIPANT_RATE_LIMITS[scope]
            session = request.session.session_key or ""
            limits = [(f"ip:{client_ip(request)}", per_ip)] + ([(f"s:{session}", per_session)] if session else [])
            if over_limits(scope, limits, window_s):
                return JsonResponse({"error": _("Too many requests; please wait a moment.")}, status=429,
                                    headers={"Retry-After": str(window_s)})
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
