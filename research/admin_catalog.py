"""The catalogs in the admin: importing, analysing and fetching clips, and the tracks, analyses and indexes.
A catalog is no one's, but a change to it reaches every study using it: each page and action asks study.access
(the catalogs of one's studies, and a role that may configure every study on a catalog to change it)."""
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
from study.access import catalog_allows, catalog_require, user_catalogs

SHOWN_PROBLEMS = 10


def track_uses(track: Track) -> list[str]:
    """What of the participants' record holds this track, in words (empty: nothing does)."""
    from django.db.models import Q as Where

    from study.models import LikedTrack, ListeningEvent, Recommendation, SimulationTrial

    uses = [
        (LikedTrack.objects.filter(track=track), "liked"),
        (Recommendation.objects.filter(Where(track=track) | Where(seed_track=track)), "recommended (or liked, as a seed)"),
        (ListeningEvent.objects.filter(track=track), "listened to"),
        (SimulationTrial.objects.filter(Where(seed_track=track) | Where(left_track=track) | Where(right_track=track)),
         "met in an understanding test"),
    ]
    found = []
    for rows, what in uses:
        people = rows.values("participant").distinct().count()
        if people:
            found.append(f"“{track}” was {what} by {people} participant{'s' if people != 1 else ''}: their record keeps it "
                         "(a participant's data leaves only through deletion on request)")
    return found


@admin.register(Catalog)
class CatalogAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "n_tracks", "analysis_progress", "n_failed", "latest_index"]
    actions = ["analyse_and_index", "fetch_clips"]
    change_list_template = "admin/recommender/catalog/change_list.html"

    def get_queryset(self, request):
        return super().get_queryset(request).filter(pk__in=user_catalogs(request.user).values("pk")).annotate(
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
        form.fields["catalog"].queryset = user_catalogs(request.user)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            if data["catalog"] is not None:  # new tracks reach every study on it
                catalog_require(user=request.user, catalog=data["catalog"], permission="recommender.add_track")
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

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (
            obj is None or catalog_allows(user=request.user, catalog=obj, permission="recommender.change_catalog"))

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (
            obj is None or catalog_allows(user=request.user, catalog=obj, permission="recommender.delete_catalog"))

    def _send(self, request, queryset, service, sent: str) -> None:
        """Run ``service`` on each chosen catalog the user may change; a catalog a running study uses says why not."""
        for catalog in queryset:
            catalog_require(user=request.user, catalog=catalog, permission="recommender.change_catalog")
            try:
                n = service(catalog=catalog)
            except services.CatalogLocked as error:
                self.message_user(request, f"{catalog}: {error}", messages.ERROR)
            else:
                self.message_user(request, f"{catalog}: {n} {sent}", messages.INFO)

    @admin.action(description="Analyse pending tracks, then rebuild the index", permissions=["change"])
    def analyse_and_index(self, request, queryset):
        self._send(request, queryset, services.catalog_analyse, "tracks sent for analysis; the index follows.")

    @admin.action(description="Fetch missing clips from preview URLs, then analyse them", permissions=["change"])
    def fetch_clips(self, request, queryset):
        self._send(request, queryset, services.catalog_fetch_clips, "clips sent for download and analysis.")


@admin.register(Track)
class TrackAdmin(admin.ModelAdmin):
    list_display = ["title", "artist", "style", "catalog", "status", "error", "duration_s"]
    list_filter = ["catalog", "status"]
    search_fields = ["title", "artist", "external_id"]
    readonly_fields = ["status", "error", "duration_s"]
    list_select_related = ["catalog"]
    show_full_result_count = False  # counting 100,000 tracks on every page is slow

    def get_queryset(self, request):
        return super().get_queryset(request).filter(catalog__in=user_catalogs(request.user).values("pk"))

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (
            obj is None or catalog_allows(user=request.user, catalog=obj.catalog, permission="recommender.change_track"))

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (
            obj is None or catalog_allows(user=request.user, catalog=obj.catalog, permission="recommender.delete_track"))

    def get_deleted_objects(self, objs, request):
        """A track a participant liked, heard, was recommended or tested on is part of the record (the database
        protects it too): the confirmation page says which participants' data holds it, and deletes nothing."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        held = [reason for track in objs for reason in track_uses(track)]
        return (deleted, counts, set(), held) if held else (deleted, counts, perms_needed, protected)


@admin.register(AudioAnalysis)
class AudioAnalysisAdmin(admin.ModelAdmin):
    list_display = ["track", "audio_sha256", "analysed_at"]
    readonly_fields = ["track", "audio_sha256", "features", "mel", "analysed_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(track__catalog__in=user_catalogs(request.user).values("pk"))


@admin.register(SimilarityIndex)
class SimilarityIndexAdmin(admin.ModelAdmin):
    list_display = ["catalog", "version", "n_tracks", "created_at"]
    exclude = ["vectors"]
    readonly_fields = ["catalog", "version", "feature_names", "track_ids", "mean", "std", "source_sha256", "created_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(catalog__in=user_catalogs(request.user).values("pk"))

    @admin.display(description="Tracks")
    def n_tracks(self, index):
        return len(index.track_ids)
