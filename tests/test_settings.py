"""Start-up behaviour of config.settings in fresh processes, as operators meet it."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def read_env_example() -> dict[str, str]:
    pairs = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def manage(*args, **env):
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "PYTHONPATH")}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "false", "ALLOWED_HOSTS": "x.org"}, "SECRET_KEY is not set"),
        ({"DEBUG": "false", "SECRET_KEY": "k" * 60}, "ALLOWED_HOSTS is not set"),
        ({"DEBUG": "perhaps"}, "DEBUG='perhaps' is not a boolean"),
    ],
)
def test_production_start_up_fails_clearly_without_required_settings(env, message):
    result = manage("check", **env)
    assert result.returncode != 0
    assert message in result.stderr


def test_check_deploy_is_clean_with_the_production_variables_from_env_example(tmp_path):
    env = read_env_example()
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", MEDIA_ROOT=str(tmp_path), STATIC_ROOT=str(tmp_path))
    result = manage("check", "--deploy", "--fail-level", "WARNING", **env)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_static_files_are_hashed_and_the_page_script_imports_the_hashed_modules(tmp_path):
    """As the Dockerfile collects them: main.js must import answers.<hash>.js, never a name a cache keeps."""
    env = read_env_example()
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", STATIC_ROOT=str(tmp_path / "static"))
    result = manage("collectstatic", "--noinput", **env)
    assert result.returncode == 0, result.stderr
    paths = json.loads((tmp_path / "static" / "staticfiles.json").read_text())["paths"]
    main = (tmp_path / "static" / paths["js/study/main.js"]).read_text()
    modules = [name for name in paths if name.startswith("js/study/") and name != "js/study/main.js"]
    assert modules
    for name in modules:
        imported = paths[name].rpartition("/")[2]
        if f"./{name.rpartition('/')[2]}" in main or imported in main:
            assert f'"./{imported}"' in main, (name, main[:500])
    assert "./answers.js" not in main


def test_the_embedded_default_uses_sqlite_eager_tasks_and_django_s_pbkdf2_for_passwords():
    """The suite hashes its accounts' passwords with MD5 for speed (tests/conftest.py); the settings never do."""
    result = manage(
        "shell", "-c",
        "from django.conf import settings as s; from django.contrib.auth.hashers import get_hasher, make_password; "
        "h = get_hasher(); print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, h.algorithm, "
        "h.iterations >= 600_000, make_password('x').split('$')[0])",
    )
    assert result.stdout.splitlines()[-1].split() == [
        "django.db.backends.sqlite3", "True", "pbkdf2_sha256", "True", "pbkdf2_sha256"]


def test_passwords_made_in_a_test_are_hashed_quickly():
    from django.contrib.auth.hashers import make_password

    assert make_password("x").startswith("md5$")


def test_database_and_broker_urls_switch_to_postgres_and_a_real_worker():
    result = manage(
        "shell", "-c", "from django.conf import settings as s; print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER)",
        DATABASE_URL="postgres://u:p@db.invalid:5432/x", CELERY_BROKER_URL="redis://redis.invalid:6379/0",
    )
    assert result.stdout.splitlines()[-1].split() == ["django.db.backends.postgresql", "False"]


@pytest.mark.django_db
def test_the_health_endpoint_answers_plain_http_from_any_host(client, settings):
    settings.ALLOWED_HOSTS = ["study.example.org"]
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/healthz/", HTTP_HOST="127.0.0.1:8000")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_docker_compose_file_is_valid_with_the_example_environment():
    compose = shutil.which("docker-compose")
    if compose is None:
        pytest.skip("docker-compose is not installed (Debian package docker-compose)")
    result = subprocess.run(
        [compose, "--env-file", ".env.example", "config", "--services"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) == {"web", "worker", "batch-worker", "postgres", "redis"}


def test_bandit_finds_nothing_of_medium_or_high_severity():
    """The project's own code (not its tests), as `bandit -r -ll` reads it."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "bandit", "-q", "-r", "config", "study", "recommender", "explanations", "-ll", "-f", "txt"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:]  # bandit exits 1 when it finds something at that level


def test_the_access_log_never_holds_a_prolific_id_from_a_study_link_or_its_referrer():
    """What gunicorn writes, with the format the image and docker-compose run it with (config/gunicorn.py)."""
    import datetime
    import runpy
    import types

    from gunicorn.config import Config
    from gunicorn.glogging import Logger

    settings_file = ROOT / "config" / "gunicorn.py"
    config = Config()
    config.set("access_log_format", runpy.run_path(str(settings_file))["access_log_format"])
    assert f"`{config.access_log_format}`" in (ROOT / "README.md").read_text()  # documented as it runs
    pid = "5f3a9c0d1b2e4f6a7c8d9e01"
    environ = {
        "REQUEST_METHOD": "GET", "RAW_URI": f"/s/pilot/?PROLIFIC_PID={pid}&STUDY_ID=s1", "PATH_INFO": "/s/pilot/",
        "QUERY_STRING": f"PROLIFIC_PID={pid}&STUDY_ID=s1", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "203.0.113.9",
        "HTTP_REFERER": f"https://app.prolific.com/?PROLIFIC_PID={pid}", "HTTP_USER_AGENT": "Firefox",
    }
    response = types.SimpleNamespace(status="302 Found", sent=0, headers=[])
    request = types.SimpleNamespace(headers=[("REFERER", environ["HTTP_REFERER"])])
    atoms = Logger(config).atoms(response, request, environ, datetime.timedelta(milliseconds=12))
    line = config.access_log_format % atoms
    assert '"GET /s/pilot/ HTTP/1.1" 302' in line and pid not in line and "STUDY_ID" not in line
    for where in ("Dockerfile", "docker-compose.yml"):
        assert "-c config/gunicorn.py" in (ROOT / where).read_text().replace('", "', " "), where


def test_participants_jobs_have_their_own_queue_and_every_other_job_is_batch_work():
    from config.celery import app

    app.loader.import_default_modules()
    tasks = [name for name in app.tasks if not name.startswith("celery.")]
    assert {"study.tasks.recommend_for_participant", "recommender.tasks.train_cnn",
            "explanations.tasks.render_explanations", "recommender.tasks.analyse_tracks"} <= set(tasks)
    queues = {name: app.amqp.router.route({}, name)["queue"].name for name in tasks}
    assert queues.pop("study.tasks.recommend_for_participant") == "interactive"
    assert set(queues.values()) == {"batch"}
