from django.contrib import admin
from django.utils.html import format_html

from explanations.models import Explanation


@admin.register(Explanation)
class ExplanationAdmin(admin.ModelAdmin):
    list_display = ["kind", "language", "seed_track", "track", "created_at"]
    list_filter = ["kind", "language"]
    readonly_fields = [
        "kind", "language", "seed_track", "track", "index", "content_hash", "preview", "text", "alt_text", "data",
    ]
    exclude = ["image"]

    @admin.display(description="Figure")
    def preview(self, explanation):
        return format_html('<img src="{}" alt="{}" style="max-width: 900px">', explanation.image.url, explanation.alt_text)
