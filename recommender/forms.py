from django import forms
from django.core.validators import FileExtensionValidator

from recommender.models import Catalog


def _within_cap(upload):
    """An uploaded file no larger than settings.UPLOAD_MAX_BYTES (the form says so; nothing is written)."""
    from django.conf import settings

    if upload is not None and upload.size > settings.UPLOAD_MAX_BYTES:
        raise forms.ValidationError(
            f"This file has {upload.size:,} bytes; an upload may have at most {settings.UPLOAD_MAX_BYTES:,} (UPLOAD_MAX_BYTES)."
        )
    return upload


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
    columns = forms.CharField(
        required=False, max_length=1000, label="Column mapping",
        help_text="Your file's column names for the format's, e.g. track_id=id,artist_or_source=artist,style=genre,"
                  "path=audio (generic reads id, title, artist, genre, audio, preview_url, license, attribution).",
    )
    ignore_columns = forms.BooleanField(
        required=False, help_text="Leave out columns the format does not read instead of refusing the file.",
    )

    def clean_columns(self):
        from recommender.csv_formats import parse_columns

        try:
            return parse_columns(self.cleaned_data["columns"])
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None

    def clean_csv_file(self):
        return _within_cap(self.cleaned_data["csv_file"])

    def clean_clips(self):
        return _within_cap(self.cleaned_data["clips"])

    def clean(self):
        data = super().clean()
        if not data.get("catalog") and not data.get("new_catalog_name"):
            raise forms.ValidationError("Choose a catalog or name a new one.")
        return data
