import os

import pytest
from django.conf import settings as django_settings

from config.celery import app as celery_app
from recommender import services as recommender_services


@pytest.fixture(autouse=True)
def isolated_media(settings, tmp_path):
    """Every test writes media to its own folder, never to the project's."""
    settings.MEDIA_ROOT = tmp_path / "media"
    recommender_services.load_index.cache_clear()
    yield
    recommender_services.load_index.cache_clear()


@pytest.fixture(autouse=True)
def eager_celery(request, settings):
    """Tasks run in-process except in tests that exercise the real worker."""
    if request.node.get_closest_marker("worker"):
        yield
        return
    settings.CELERY_TASK_ALWAYS_EAGER = True
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


def _require_integration(reason: str):
    if os.environ.get("REQUIRE_INTEGRATION") == "1":
        pytest.fail(f"integration test cannot run: {reason}")
    pytest.skip(reason)


def pytest_runtest_setup(item):
    if item.get_closest_marker("postgres"):
        if django_settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
            _require_integration("DATABASE_URL does not point at PostgreSQL")
    if item.get_closest_marker("worker"):
        if not django_settings.CELERY_BROKER_URL:
            _require_integration("CELERY_BROKER_URL is not set")


@pytest.fixture
def demo_catalog(db):
    """Twelve short synthesised clips, two per style, analysed and indexed."""
    catalog, _ = recommender_services.catalog_create_demo(slug="demo", per_style=2, seconds=4, seed=7)
    recommender_services.catalog_analyse(catalog=catalog)
    return catalog
