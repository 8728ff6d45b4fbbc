"""gunicorn's settings for Resonance (``gunicorn config.wsgi -c config/gunicorn.py``; the Dockerfile and
docker-compose.yml use it).

The access log keeps method, path, status, size and time, never a query string or a referrer: a study link
carries the participant's PROLIFIC_PID in its query (and the next page's Referer repeats it), and a log kept
past a deletion on request or RETENTION_DAYS would hold the id the database no longer does.
"""
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)s'
