from django import forms
from django.core.validators import FileExtensionValidator

from recommender.models import Catalog


class CatalogImportForm(forms.Form):
    """A catalog CSV and, for the generic format, a zip of the clips it names."""

    catalog = forms.ModelChoiceField(Catalog.objects.all(), required=False, help_text="Leave empty to create a new catalog.")
    new_catalog_name = forms.CharField(max_length=200, required=False)
    format = forms.ChoiceField(
        choices=[("generic", "id,title,artist[,genre][,audio]"), ("spotify", "Spotify tracks dataset")]
    )
    csv_file = forms.FileField(label="CSV file", validators=[FileExtensionValidator(["csv", "txt"])])
    clips = forms.FileField(
        label="Clips (zip)", required=False, validators=[FileExtensionValidator(["zip"])],
        help_text="Audio files named in the CSV's audio column (wav, ogg, flac, mp3).",
    )

    def clean(self):
        data = super().clean()
        if not data.get("catalog") and not data.get("new_catalog_name"):
            raise forms.ValidationError("Choose a catalog or name a new one.")
        return data
