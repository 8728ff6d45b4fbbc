from django.contrib import admin
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.html import format_html

from study.export import write_long_csv
from study.models import (
    Assignment, Condition, Item, ListeningEvent, PageVisit, Participant, Recommendation, Response, Study,
    StudyTranslation,
)


class RecordAdminMixin:
    """The participants' record (answers, events, visits, assignments, recommendations) is read-only for
    everyone in the admin: no add, change or delete. Removing a participant's data on request goes
    through its own audited path, not through these pages."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class StudyTranslationInline(admin.StackedInline):
    model = StudyTranslation
    extra = 0
    verbose_name = "text in another language"
    verbose_name_plural = "texts in other languages (shown to participants whose pages are in that language)"


class ConditionInline(admin.TabularInline):
    model = Condition
    extra = 0
    fields = ["slug", "name", "explanation", "weight", "is_active", "n_assigned"]
    readonly_fields = ["n_assigned"]

    @admin.display(description="Assigned")
    def n_assigned(self, condition):
        return condition.assignments.count() if condition.pk else 0


class ItemInline(admin.TabularInline):
    model = Item
    extra = 0
    fields = [
        "order", "section", "kind", "code", "construct", "text", "reverse_coded", "check_kind", "correct_value",
        "scale_min", "scale_max", "label_min", "label_max",
    ]


@admin.action(description="Export answers as CSV (one row per answer)")
def export_responses_csv(modeladmin, request, queryset):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    slugs = "-".join(queryset.values_list("slug", flat=True))
    response["Content-Disposition"] = f'attachment; filename="responses-{slugs}.csv"'
    for i, study in enumerate(queryset.order_by("slug")):
        if i:
            response.write("\n")
        write_long_csv(study, response)
    return response


@admin.action(description="Pre-render every explanation the study can show (background jobs)")
def prerender_explanations(modeladmin, request, queryset):
    from django.contrib import messages

    from study.services import FlowError, study_prerender_explanations

    for study in queryset:
        try:
            sent = study_prerender_explanations(study=study)
        except FlowError as error:
            modeladmin.message_user(request, f"{study}: {error}", messages.ERROR)
        else:
            modeladmin.message_user(request, f"{study}: {sent} track pairs sent for rendering.", messages.INFO)


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "is_open", "open_to_anyone", "n_participants", "n_completed", "balance", "created_at"]
    list_filter = ["is_open"]
    search_fields = ["title", "slug"]
    inlines = [StudyTranslationInline, ConditionInline, ItemInline]
    actions = [export_responses_csv, prerender_explanations]
    readonly_fields = ["gallery_link"]

    def get_urls(self):
        return [
            path("<int:pk>/gallery/", self.admin_site.admin_view(self.gallery_view), name="study_study_gallery"),
            *super().get_urls(),
        ]

    def gallery_view(self, request, pk):
        """Every condition's explanation of the same sample pairs, side by side, to check before launch."""
        from study.gallery import study_gallery
        from study.services import FlowError

        study = get_object_or_404(Study, pk=pk)
        try:
            rows = study_gallery(study=study, n_pairs=min(12, max(1, int(request.GET.get("n", 4)))))
            error = ""
        except (FlowError, ValueError) as problem:
            rows, error = [], str(problem)
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta, "study": study, "rows": rows,
            "conditions": list(study.conditions.all()), "error": error, "title": f"Explanation gallery: {study}",
        }
        return render(request, "admin/study/study/gallery.html", context)

    @admin.display(description="Explanations")
    def gallery_link(self, study):
        if not study.pk:
            return "–"
        url = reverse("admin:study_study_gallery", args=[study.pk])
        return format_html('<a href="{}">Open the gallery: every condition’s explanation of sample pairs</a>', url)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            n_participants=Count("participants", distinct=True),
            n_completed=Count("participants", filter=Q(participants__completed_at__isnull=False), distinct=True),
        )

    @admin.display(description="Participants", ordering="n_participants")
    def n_participants(self, study):
        return study.n_participants

    @admin.display(description="Completed", ordering="n_completed")
    def n_completed(self, study):
        return study.n_completed

    @admin.display(description="Assigned per condition")
    def balance(self, study):
        counts = study.conditions.annotate(n=Count("assignments")).values_list("slug", "n")
        return ", ".join(f"{slug}: {n}" for slug, n in counts)


class AssignmentInline(RecordAdminMixin, admin.StackedInline):
    model = Assignment
    extra = 0
    fields = readonly_fields = ["condition", "method", "position", "assigned_at"]


class PageVisitInline(RecordAdminMixin, admin.TabularInline):
    model = PageVisit
    extra = 0
    fields = ["page", "entered_at", "left_at", "seconds"]
    readonly_fields = fields

    @admin.display(description="Seconds")
    def seconds(self, visit):
        return f"{visit.seconds:.0f}" if visit.seconds is not None else "–"


class ListeningInline(RecordAdminMixin, admin.TabularInline):
    model = ListeningEvent
    extra = 0
    fields = ["created_at", "page", "track", "kind", "position_s", "listened_s"]
    readonly_fields = fields


class ResponseInline(RecordAdminMixin, admin.TabularInline):
    model = Response
    extra = 0
    fields = ["item", "recommendation", "value", "client_seq", "first_answered_at", "answered_at"]
    readonly_fields = fields


@admin.register(Participant)
class ParticipantAdmin(RecordAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "study", "condition_slug", "page", "prolific_pid", "started_at", "completed_at"]
    list_filter = ["study", "page", "assignment__condition"]
    search_fields = ["prolific_pid", "completion_code"]
    readonly_fields = [
        "study", "prolific_pid", "prolific_study_id", "prolific_session_id", "page", "language", "consent_version",
        "consented_at", "liked_tracks", "recommendations_requested_at", "recommendation_attempts", "recommendation_progress", "completion_code",
        "started_at", "completed_at",
    ]
    exclude = ["token"]
    inlines = [AssignmentInline, PageVisitInline, ResponseInline, ListeningInline]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("study", "assignment__condition")

    @admin.display(description="Condition", ordering="assignment__condition__slug")
    def condition_slug(self, participant):
        condition = participant.condition
        return condition.slug if condition else "–"


@admin.register(Recommendation)
class RecommendationAdmin(RecordAdminMixin, admin.ModelAdmin):
    list_display = ["participant", "rank", "track", "seed_track", "score", "index", "explanation_fallback"]
    list_filter = ["participant__study"]
    raw_id_fields = ["participant", "track", "seed_track", "index", "feature_explanation", "spectrogram_explanation"]


@admin.register(Response)
class ResponseAdmin(RecordAdminMixin, admin.ModelAdmin):
    list_display = ["participant", "item", "recommendation", "value", "answered_at"]
    list_filter = ["participant__study", "item__section", "item__code"]
    raw_id_fields = ["participant", "recommendation"]
