from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config.media import serve_media

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("research.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file, so the Content-Security-Policy needs no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("study.urls")),
]

if settings.SERVE_MEDIA:
    # django.conf.urls.static.static() is a no-op without DEBUG; participants need media always.
    urlpatterns += [re_path(r"^{}(?P<path>.*)$".format(settings.MEDIA_URL.lstrip("/")), serve_media)]
