"""The participants' record in the admin: read-only for everyone, and each researcher sees only the studies
their role allows (study.access); raw Prolific ids are never shown here (they leave only through the logged
exports). The study itself is configured in research.admin, the researcher's workbench."""
from django.contrib import admin

from study.access import user_studies
from study.models import Assignment, AuditEntry, ListeningEvent, PageVisit, Participant, Recommendation, Response


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


class OwnStudiesMixin:
    """Only the rows of studies this user may see; ``study_path`` leads from a row to its study."""

    study_path = "study"

    def get_queryset(self, request):
        rows = super().get_queryset(request)
        if request.user.is_superuser:
            return rows
        return rows.filter(**{f"{self.study_path}__in": user_studies(request.user)})


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


@admin.register(AuditEntry)
class AuditEntryAdmin(OwnStudiesMixin, RecordAdminMixin, admin.ModelAdmin):
    """Every export and deletion, for staff of the study to see; written only by the services that do them."""

    list_display = ["at", "actor", "action", "study", "detail"]
    list_filter = ["action", ("study", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["actor"]


@admin.register(Participant)
class ParticipantAdmin(OwnStudiesMixin, RecordAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "study", "condition_slug", "page", "is_pilot", "started_at", "completed_at"]
    list_filter = [("study", admin.RelatedOnlyFieldListFilter), "page", "is_pilot"]
    search_fields = ["completion_code"]
    readonly_fields = [
        "study", "is_pilot", "page", "language", "consent_version",
        "consented_at", "liked_tracks", "recommendations_requested_at", "recommendation_attempts", "recommendation_progress", "completion_code",
        "started_at", "completed_at",
    ]
    exclude = ["token", "prolific_pid", "prolific_study_id", "prolific_session_id"]
    inlines = [AssignmentInline, PageVisitInline, ResponseInline, ListeningInline]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("study", "assignment__condition")

    @admin.display(description="Condition", ordering="assignment__condition__slug")
    def condition_slug(self, participant):
        condition = participant.condition
        return condition.slug if condition else "–"


@admin.register(Recommendation)
class RecommendationAdmin(OwnStudiesMixin, RecordAdminMixin, admin.ModelAdmin):
    study_path = "participant__study"
    list_display = ["participant", "rank", "track", "seed_track", "score", "index", "explanation_fallback"]
    list_filter = [("participant__study", admin.RelatedOnlyFieldListFilter)]
    raw_id_fields = ["participant", "track", "seed_track", "index", "feature_explanation", "spectrogram_explanation"]


@admin.register(Response)
class ResponseAdmin(OwnStudiesMixin, RecordAdminMixin, admin.ModelAdmin):
    study_path = "participant__study"
    list_display = ["participant", "item", "recommendation", "value", "answered_at"]
    list_filter = [("participant__study", admin.RelatedOnlyFieldListFilter), "item__section", "item__code"]
    raw_id_fields = ["participant", "recommendation"]
