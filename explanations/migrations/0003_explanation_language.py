from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("explanations", "0002_narrow_image"),
    ]

    operations = [
        migrations.AddField(
            model_name="explanation",
            name="language",
            field=models.CharField(
                default="en", help_text="Language of every text in the figure, caption and alt text.", max_length=10
            ),
        ),
    ]
