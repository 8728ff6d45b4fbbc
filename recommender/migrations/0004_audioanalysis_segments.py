from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("recommender", "0003_track_search_trigram"),
    ]

    operations = [
        migrations.AddField(
            model_name="audioanalysis",
            name="segments",
            field=models.JSONField(
                blank=True,
                help_text="The same features per 3-second passage: {seconds, names, values}; empty for older analyses.",
                null=True,
            ),
        ),
    ]
