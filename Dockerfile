# One image for the web process (gunicorn) and the Celery worker; docker-compose.yml runs both.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# libsndfile reads wav/ogg/flac/mp3; ffmpeg lets audioread decode anything else researchers bring; R with lme4
# (lmerTest, ordinal) fit the mixed models reviewers expect (research/rscript.py).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libsndfile1 ffmpeg r-base-core r-cran-lme4 r-cran-lmertest r-cran-ordinal \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
# Static files are collected at build time with the production storage (hashed names and their manifest,
# ES module imports rewritten); whitenoise serves them with far-future headers. The key is for this step only.
RUN DEBUG=false SECRET_KEY=collectstatic-only-not-a-secret-0123456789abcdef ALLOWED_HOSTS=localhost \
    python manage.py collectstatic --noinput

RUN useradd --create-home resonance && mkdir -p /data/media && chown resonance /data/media
USER resonance
EXPOSE 8000
CMD ["gunicorn", "config.wsgi", "-c", "config/gunicorn.py", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "60"]
