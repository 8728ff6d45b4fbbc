import tempfile
from pathlib import Path

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import slugify

from recommender import services
from recommender.catalog_import import ImportRefused, catalog_import_file
from recommender.forms import CatalogImportForm
from recommender.models import AudioAnalysis, Catalog, SimilarityIndex, Track

SHOWN_PROBLEMS = 10


@admin.register(Catalog)
class CatalogAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "n_tracks", "analysis_progress", "n_failed", "latest_index"]
    actions = ["analyse_and_index", "fetch_clips"]
    change_list_template = "admin/recommender/catalog/change_list.html"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            n_tracks=Count("tracks"),
            n_with_audio=Count("tracks", filter=~Q(tracks__audio="")),
            n_analysed=Count("tracks", filter=Q(tracks__status=Track.Status.ANALYSED)),
            n_failed=Count("tracks", filter=Q(tracks__status=Track.Status.FAILED)),
        )

    def get_urls(self):
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name="recommender_catalog_import"),
            *super().get_urls(),
        ]

    def import_view(self, request):
        """Upload a catalog CSV (and a zip of clips); tracks are written now, clips analysed by Celery jobs."""
        if not (request.user.has_perm("recommender.add_track") and request.user.has_perm("recommender.add_catalog")):
            raise PermissionDenied("Importing tracks needs the permissions to add catalogs and tracks.")
        form = CatalogImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                with tempfile.TemporaryDirectory() as folder:
                    csv_path = Path(folder) / "catalog.csv"
                    with open(csv_path, "wb") as target:
                        for chunk in data["csv_file"].chunks():
                            target.write(chunk)
                    result = catalog_import_file(
                        csv_path=csv_path, format=data["format"], catalog=data["catalog"],
                        slug=slugify(data["new_catalog_name"])[:50], name=data["new_catalog_name"],
                        clips_zip=data["clips"] or None, columns=data["columns"],
                        ignore_columns=data["ignore_columns"],
                    )
            except (ImportRefused, OSError) as error:
                form.add_error(None, f"Cannot import this upload: {error}")
            else:
                summary = result.summary
                level = messages.WARNING if summary.problems else messages.SUCCESS
                self.message_user(request, f"{result.catalog}: {summary}; {result.sent} clips sent for analysis.", level)
                for problem in summary.problems[:SHOWN_PROBLEMS]:
                    self.message_user(request, f"Skipped {problem}", messages.WARNING)
                if len(summary.problems) > SHOWN_PROBLEMS:
                    more = len(summary.problems) - SHOWN_PROBLEMS
                    self.message_user(request, f"… and {more} more skipped rows.", messages.WARNING)
                return redirect(reverse("admin:recommender_catalog_changelist"))
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "form": form, "title": "Import tracks"}
        return render(request, "admin/recommender/catalog/import.html", context)

    @admin.display(description="Analysed")
    def analysis_progress(self, catalog):
        """Analysed clips out of the clips attached, as a bar that fills while the jobs run."""
        total = catalog.n_with_audio
        if not total:
            return "no clips"
        share = catalog.n_analysed / total
        return format_html(
            '<progress value="{}" max="{}" title="{}%"></progress> {} / {}',
            catalog.n_analysed, total, round(100 * share), catalog.n_analysed, total,
        )

    @admin.display(description="Tracks", ordering="n_tracks")
    def n_tracks(self, catalog):
        return catalog.n_tracks

    @admin.display(description="Failed", ordering="n_failed")
    def n_failed(self, catalog):
        return catalog.n_failed

    @admin.display(description="Index")
    def latest_index(self, catalog):
        index = services.catalog_latest_index(catalog)
        return f"v{index.version} ({index.feature_set})" if index else "–"

    @admin.action(description="Analyse pending tracks, then rebuild the index", permissions=["change"])
    def analyse_and_index(self, request, queryset):
        for catalog in queryset:
            n = services.catalog_analyse(catalog=catalog)
            self.message_user(request, f"{catalog}: {n} tracks sent for analysis; the index follows.", messages.INFO)

    @admin.action(description="Fetch missing clips from preview URLs, then analyse them", permissions=["change"])
    def fetch_clips(self, request, queryset):
        for catalog in queryset:
            n = services.catalog_fetch_clips(catalog=catalog)
            self.message_user(request, f"{catalog}: {n} clips sent for download and analysis.", messages.INFO)


@admin.register(Track)
class TrackAdmin(admin.ModelAdmin):
    list_display = ["title", "artist", "style", "catalog", "status", "error", "duration_s"]
    list_filter = ["catalog", "status"]
    search_fields = ["title", "artist", "external_id"]
    readonly_fields = ["status", "error", "duration_s"]
    list_select_related = ["catalog"]
    show_full_result_count = False  # counting 100,000 tracks on every page is slow


@admin.register(AudioAnalysis)
class AudioAnalysisAdmin(admin.ModelAdmin):
    list_display = ["track", "audio_sha256", "analysed_at"]
    readonly_fields = ["track", "audio_sha256", "features", "mel", "analysed_at"]


@admin.register(SimilarityIndex)
class SimilarityIndexAdmin(admin.ModelAdmin):
    list_display = ["catalog", "version", "n_tracks", "created_at"]
    exclude = ["vectors"]
    readonly_fields = ["catalog", "version", "feature_names", "track_ids", "mean", "std", "source_sha256", "created_at"]

    @admin.display(description="Tracks")
    def n_tracks(self, index):
        return len(index.track_ids)
