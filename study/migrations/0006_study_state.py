from django.db import migrations, models


def closed_from_is_open(apps, schema_editor):
    """A study that was closed stays closed; every other one is open, as it was."""
    apps.get_model("study", "Study").objects.filter(is_open=False).update(state="closed")


def is_open_from_state(apps, schema_editor):
    apps.get_model("study", "Study").objects.exclude(state__in=["pilot", "open"]).update(is_open=False)


class Migration(migrations.Migration):

    dependencies = [
        ("study", "0005_pilots_and_audit_log"),
    ]

    operations = [
        migrations.AddField(
            model_name="study",
            name="state",
            field=models.CharField(
                choices=[
                    ("draft", "Draft: nobody may enter yet"),
                    ("pilot", "Pilot: anyone may enter; their data is pilot data, left out of analysis by default"),
                    ("open", "Open: participants enter; their data counts"),
                    ("closed", "Closed: no new participants; those who started may finish"),
                ],
                default="open", help_text="Who may enter, and whether their data counts as pilot data.", max_length=10,
            ),
        ),
        migrations.RunPython(closed_from_is_open, is_open_from_state),
        migrations.RemoveField(model_name="study", name="is_open"),
    ]
