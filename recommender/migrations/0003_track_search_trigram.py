"""Trigram indexes for participants' substring search over titles and artists (PostgreSQL only).

ILIKE '%word%' cannot use a B-tree index; over 100,000 tracks a trigram GIN index
turns the sequential scan into an index lookup. SQLite has no such index and
scans its (small, local) catalog instead.
"""
from django.db import migrations

INDEXES = {
    "recommender_track_title_trgm": "title",
    "recommender_track_artist_trgm": "artist",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON recommender_track USING gin (UPPER({column}) gin_trgm_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("recommender", "0002_catalog_metadata")]
    operations = [migrations.RunPython(create, drop)]
