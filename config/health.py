"""A health endpoint for container healthchecks and load balancers.

It answers before the security and host checks, because a probe from inside the
container speaks plain HTTP to 127.0.0.1, which is neither an allowed host nor HTTPS.
"""
from django.db import connection
from django.http import JsonResponse

HEALTH_PATH = "/healthz/"


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path != HEALTH_PATH:
            return self.get_response(request)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except Exception as exc:  # any driver error means "not healthy"
            return JsonResponse({"status": "error", "database": str(exc)[:200]}, status=503)
        return JsonResponse({"status": "ok"})
