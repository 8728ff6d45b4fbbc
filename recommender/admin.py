from django.contrib import admin, messages
from django.db.models import Count, Q

from recommender import services
from recommender.models import AudioAnalysis, Catalog, SimilarityIndex, Track


@admin.register(Catalog)
class CatalogAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "n_tracks", "n_analysed", "n_failed", "latest_index"]
    actions = ["analyse_and_index"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            n_tracks=Count("tracks"),
            n_analysed=Count("tracks", filter=Q(tracks__status=Track.Status.ANALYSED)),
            n_failed=Count("tracks", filter=Q(tracks__status=Track.Status.FAILED)),
        )

    @admin.display(description="Tracks", ordering="n_tracks")
    def n_tracks(self, catalog):
        return catalog.n_tracks

    @admin.display(description="Analysed", ordering="n_analysed")
    def n_analysed(self, catalog):
        return catalog.n_analysed

    @admin.display(description="Failed", ordering="n_failed")
    def n_failed(self, catalog):
        return catalog.n_failed

    @admin.display(description="Index")
    def latest_index(self, catalog):
        index = services.catalog_latest_index(catalog)
        return f"v{index.version}" if index else "–"

    @admin.action(description="Analyse pending tracks, then rebuild the index")
    def analyse_and_index(self, request, queryset):
        for catalog in queryset:
            n = services.catalog_analyse(catalog=catalog)
            self.message_user(request, f"{catalog}: {n} tracks sent for analysis; the index follows.", messages.INFO)


@admin.register(Track)
class TrackAdmin(admin.ModelAdmin):
    list_display = ["title", "artist", "style", "catalog", "status", "error", "duration_s"]
    list_filter = ["catalog", "status", "style"]
    search_fields = ["title", "artist", "external_id"]
    readonly_fields = ["status", "error", "duration_s"]


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
