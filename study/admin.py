import json

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from study.export import Options
from study.export_files import study_data_package, study_export
from study.models import (
    Assignment, AuditEntry, Condition, Item, ListeningEvent, PageVisit, Participant, Recommendation, Response, Study,
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
    fields = ["slug", "name", "explanation", "recommender", "weight", "is_active", "n_assigned"]
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


@admin.action(description="Export answers as CSV (one row per answer, with Prolific ids; logged)")
def export_responses_csv(modeladmin, request, queryset):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    slugs = "-".join(queryset.values_list("slug", flat=True))
    response["Content-Disposition"] = f'attachment; filename="responses-{slugs}.csv"'
    for i, study in enumerate(queryset.order_by("slug")):
        if i:
            response.write("\n")
        response.write(study_export(study=study, format="csv", exported_by=f"admin:{request.user.get_username()}").content)
    return response


def _data_package(request, queryset, *, include_pilot: bool):
    if queryset.count() != 1:
        messages.error(request, "Choose one study to download its data package.")
        return None
    study = queryset.get()
    content = study_data_package(
        study=study, options=Options(include_pilot=include_pilot), exported_by=f"admin:{request.user.get_username()}"
    )
    response = HttpResponse(content, content_type="application/zip")
    suffix = "-with-pilot" if include_pilot else ""
    response["Content-Disposition"] = f'attachment; filename="{study.slug}-data{suffix}.zip"'
    return response


@admin.action(description="Download the data package (ZIP: long, wide, events, codebook, XLSX, SPSS; pseudonymous)")
def export_data_package(modeladmin, request, queryset):
    return _data_package(request, queryset, include_pilot=False)


@admin.action(description="Download the data package including pilot (bot) participants")
def export_data_package_with_pilot(modeladmin, request, queryset):
    return _data_package(request, queryset, include_pilot=True)


@admin.action(description="Duplicate (a new draft with the same configuration, no participants)")
def duplicate_studies(modeladmin, request, queryset):
    from study.services import FlowError, study_duplicate

    for study in queryset:
        n = 1
        while Study.objects.filter(slug=f"{study.slug}-copy{n if n > 1 else ''}").exists():
            n += 1
        try:
            copy = study_duplicate(study=study, slug=f"{study.slug}-copy{n if n > 1 else ''}")
        except FlowError as error:
            modeladmin.message_user(request, f"{study}: {error}", messages.ERROR)
        else:
            modeladmin.message_user(request, f"{study} duplicated as {copy.slug!r} (a draft).", messages.SUCCESS)


@admin.action(description="Download the configuration (JSON; python manage.py import_study recreates it)")
def download_configuration(modeladmin, request, queryset):
    from study.services import study_to_config

    if queryset.count() != 1:
        modeladmin.message_user(request, "Choose one study to download its configuration.", messages.ERROR)
        return None
    study = queryset.get()
    response = HttpResponse(
        json.dumps(study_to_config(study), indent=2, ensure_ascii=False, default=str), content_type="application/json"
    )
    response["Content-Disposition"] = f'attachment; filename="{study.slug}-study.json"'
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


class StudyForm(forms.ModelForm):
    """A new study chooses its questionnaire from the bank here; its items can then be edited below."""

    scales = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple,
        help_text="New studies only: the published scales to ask after the ratings (each complete; drop or reword "
        "items afterwards in the items below: the codebook records it). The pre-questionnaire, the ratings of "
        "each recommendation, an attention check and a manipulation check are always added.",
    )

    class Meta:
        model = Study
        fields = "__all__"

    def __init__(self, *args, **kwargs):
        from study.questionnaires import DEFAULT_SCALES, SCALES

        super().__init__(*args, **kwargs)
        self.fields["scales"].choices = [(key, scale["name"]) for key, scale in SCALES.items()]
        self.fields["scales"].initial = DEFAULT_SCALES


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin):
    form = StudyForm
    list_display = [
        "title", "slug", "state", "open_to_anyone", "n_participants", "n_completed", "balance", "n_pilots", "created_at",
    ]
    list_filter = ["state"]
    search_fields = ["title", "slug"]
    inlines = [StudyTranslationInline, ConditionInline, ItemInline]
    actions = [
        export_responses_csv, export_data_package, export_data_package_with_pilot, prerender_explanations,
        duplicate_studies, download_configuration,
    ]
    readonly_fields = ["researcher_pages", "sample_size", "warnings"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "description", "catalog", "state", "open_to_anyone", "warnings",
                           "researcher_pages"]}),
        ("Participants' texts", {"fields": ["consent_text", "consent_version", "instructions_text", "debrief_text"]}),
        ("Design", {"fields": [
            "randomisation", "balance_on", "block_repeats", "target_per_condition", "effect_size_d", "alpha", "power",
            "sample_size",
        ]}),
        ("Tracks and questions", {"fields": [
            "pool_styles", "pool_track_ids", "min_liked", "max_liked", "n_recommendations", "item_order",
            "required_listening_s", "min_duration_s",
        ]}),
        ("Prolific", {"fields": ["prolific_completion_code", "prolific_no_consent_code"]}),
    ]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:  # adding: the questionnaire is chosen once, from the bank
            fieldsets = [*fieldsets, ("Questionnaire", {"fields": ["scales"]})]
        return fieldsets

    def get_changeform_initial_data(self, request):
        # A study made in the admin starts as a draft: nobody enters before the researcher opens it.
        return {**super().get_changeform_initial_data(request), "state": Study.State.DRAFT}

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        study = form.instance
        if not change and not study.items.exists():
            from study.questionnaires import default_items

            Item.objects.bulk_create(
                Item(study=study, **fields) for fields in default_items(form.cleaned_data.get("scales") or [])
            )
        for warning in study_warnings(study):
            messages.warning(request, warning)

    @admin.display(description="Before launch")
    def warnings(self, study):
        if not study.pk:
            return "–"
        problems = study_warnings(study)
        if not problems:
            return "Nothing missing."
        return format_html_join("", "<p class=\"errornote\">{}</p>", ((p,) for p in problems))

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/gallery/", view(self.gallery_view), name="study_study_gallery"),
            path("<int:pk>/monitor/", view(self.monitor_view), name="study_study_monitor"),
            path("<int:pk>/analysis/", view(self.analysis_view), name="study_study_analysis"),
            path("<int:pk>/export/<str:format>/", view(self.export_view), name="study_study_export"),
            path("<int:pk>/delete-participant/", view(self.delete_participant_view), name="study_study_delete_participant"),
            *super().get_urls(),
        ]

    def _page(self, request, study, template, **context):
        return render(request, template, {
            **self.admin_site.each_context(request), "opts": self.model._meta, "study": study, **context,
        })

    def monitor_view(self, request, pk):
        """Arrivals, the flow through each condition, drop-out and time per page; refreshes itself."""
        from study.monitor import study_monitor

        study = get_object_or_404(Study, pk=pk)
        include_pilot = request.GET.get("pilot") == "1"
        return self._page(request, study, "admin/study/study/monitor.html", title=f"Monitor: {study} ({study.slug})",
                          monitor=study_monitor(study=study, include_pilot=include_pilot), include_pilot=include_pilot)

    def analysis_view(self, request, pk):
        """The by-condition analysis report (the same as analyse_study writes), figures inline."""
        from study.analysis_report import study_analyse

        study = get_object_or_404(Study, pk=pk)
        report = study_analyse(study=study, include_pilot=request.GET.get("pilot") == "1", inline_figures=True)
        return HttpResponse(report.html)

    def export_view(self, request, pk, format):
        """One export file (the study page's buttons); every download is written to the audit log."""
        from study.export_files import FORMATS

        study = get_object_or_404(Study, pk=pk)
        if format not in FORMATS or format == "csv":
            return HttpResponse("Unknown export format.", status=404)
        export = study_export(
            study=study, format=format, exported_by=f"admin:{request.user.get_username()}",
            options=Options(include_pilot=request.GET.get("pilot") == "1"),
        )
        return export.download()

    def delete_participant_view(self, request, pk):
        """Delete one participant's data on request, by Prolific id (the audited path; nothing else deletes)."""
        from study import services

        study = get_object_or_404(Study, pk=pk)
        if not request.user.has_perm("study.delete_participant") and not request.user.is_superuser:
            return HttpResponse("Only researchers allowed to delete participants may do this.", status=403)
        form = DeleteParticipantForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                deleted = services.participant_delete(
                    study=study, prolific_pid=form.cleaned_data["prolific_pid"],
                    actor=f"admin:{request.user.get_username()}",
                )
            except services.NoSuchParticipant as error:
                form.add_error("prolific_pid", str(error))
            else:
                messages.success(request, f"Deleted: {', '.join(f'{n} {k}' for k, n in deleted.items())}. Logged.")
                return redirect("admin:study_study_change", study.pk)
        return self._page(request, study, "admin/study/study/delete_participant.html",
                          title=f"Delete a participant's data: {study}", form=form)

    def gallery_view(self, request, pk):
        """Every condition's explanation of the same sample pairs, side by side, to check before launch."""
        from study.gallery import study_gallery
        from study.services import FlowError

        study = get_object_or_404(Study, pk=pk)
        try:
            rows = study_gallery(study=study, n_pairs=min(12, max(1, int(request.GET.get("n", 4)))))
            error = " ".join(w for w in study_warnings(study) if "index" in w)
        except (FlowError, ValueError) as problem:
            rows, error = [], str(problem)
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta, "study": study, "rows": rows,
            "conditions": list(study.conditions.all()), "error": error, "title": f"Explanation gallery: {study}",
        }
        return render(request, "admin/study/study/gallery.html", context)

    @admin.display(description="Power analysis")
    def sample_size(self, study):
        if not study.pk:
            return "Save the study and its conditions first."
        from study.services import study_sample_size

        size = study_sample_size(study=study)
        return format_html(
            "<strong>{}</strong> participants per condition ({} in all) to detect d = {} with power {} "
            "(two-sided Welch/Student t; alpha {} per comparison over {} pairwise comparison{}; statsmodels).",
            size["per_condition"], size["total"], size["effect_size_d"], size["power"],
            f"{size['alpha_per_comparison']:.4g}", size["comparisons"], "s" if size["comparisons"] != 1 else "",
        )

    @admin.display(description="Researcher pages")
    def researcher_pages(self, study):
        if not study.pk:
            return "–"
        links = [
            ("study_study_gallery", "", "Explanation gallery: every condition’s explanation of sample pairs, every language"),
            ("study_study_monitor", "", "Live monitor: arrivals, conditions, drop-out, time per page"),
            ("study_study_analysis", "", "Analysis report (pilot participants left out)"),
            ("study_study_analysis", "?pilot=1", "Analysis report with pilot participants"),
            *[("study_study_export", fmt, f"Download {label}") for fmt, label in (
                ("long", "answers, one row per answer (CSV)"), ("wide", "one row per participant (CSV)"),
                ("events", "page visits and player events (CSV)"), ("codebook", "the codebook (CSV)"),
                ("xlsx", "everything as XLSX"), ("spss", "the wide table as SPSS .sav"),
            )],
            # Pilot data is left out of the downloads above; during a pilot it is all there is.
            *[("study_study_export", f"{fmt}/?pilot=1", f"Download {fmt} with pilot participants")
              for fmt in ("long", "wide", "events", "xlsx", "spss")],
            ("study_study_delete_participant", "", "Delete a participant’s data on request (by Prolific id)"),
        ]
        return format_html_join(
            "", '<p><a href="{}{}">{}</a></p>',
            (
                (reverse(f"admin:{name}", args=[study.pk, suffix.split("/")[0]]) if name == "study_study_export"
                 else reverse(f"admin:{name}", args=[study.pk]),
                 suffix.partition("/")[2] if name == "study_study_export" else suffix, label)
                for name, suffix, label in links
            ),
        )

    def get_queryset(self, request):
        # Real participants only, as the monitor and the exports count them by default; pilots on their own.
        real = Q(participants__is_pilot=False)
        return super().get_queryset(request).annotate(
            n_participants=Count("participants", filter=real, distinct=True),
            n_completed=Count("participants", filter=real & Q(participants__completed_at__isnull=False), distinct=True),
            n_pilots=Count("participants", filter=Q(participants__is_pilot=True), distinct=True),
        )

    @admin.display(description="Participants (not pilots)", ordering="n_participants")
    def n_participants(self, study):
        return study.n_participants

    @admin.display(description="Completed (not pilots)", ordering="n_completed")
    def n_completed(self, study):
        return study.n_completed

    @admin.display(description="Pilots", ordering="n_pilots")
    def n_pilots(self, study):
        return study.n_pilots

    @admin.display(description="Assigned per condition (not pilots)")
    def balance(self, study):
        counts = study.conditions.annotate(
            n=Count("assignments", filter=Q(assignments__participant__is_pilot=False))
        ).values_list("slug", "n")
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


def study_warnings(study: Study) -> list[str]:
    """What would hurt a study if it went live now: missing questions, indexes or translations."""
    from django.conf import settings

    from study.services import recommender_index_exists

    problems = []
    if not study.items.filter(section__in=[Item.Section.RATING, Item.Section.QUESTIONNAIRE]).exists():
        problems.append("The study asks no questions: participants would finish without answering anything.")
    for recommender in sorted(set(study.conditions.filter(is_active=True).values_list("recommender", flat=True))):
        if not recommender_index_exists(study.catalog, recommender):
            how = {"tagger": "embed_catalog", "cnn": "train_cnn"}.get(recommender, "analyse the catalog")
            problems.append(f"Catalog {study.catalog.slug!r} has no {recommender} index yet ({how}): "
                            "participants of those conditions would get no recommendations.")
    have = {t.language for t in study.translations.all()}
    for code, name in settings.LANGUAGES[1:]:
        if code not in have:
            problems.append(f"No {name} texts: participants reading {name} would see the title, description and "
                            f"consent in {settings.LANGUAGES[0][1]}. Add them under 'texts in other languages'.")
    return problems


class DeleteParticipantForm(forms.Form):
    prolific_pid = forms.CharField(label="Prolific id (PROLIFIC_PID)", max_length=200)
    confirm = forms.BooleanField(label="I understand that this deletes the participant's data for good.")


@admin.register(AuditEntry)
class AuditEntryAdmin(RecordAdminMixin, admin.ModelAdmin):
    """Every export and deletion, for staff to see; written only by the services that do them."""

    list_display = ["at", "actor", "action", "study", "detail"]
    list_filter = ["action", "study"]
    search_fields = ["actor"]


@admin.register(Participant)
class ParticipantAdmin(RecordAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "study", "condition_slug", "page", "is_pilot", "prolific_pid", "started_at", "completed_at"]
    list_filter = ["study", "page", "is_pilot", "assignment__condition"]
    search_fields = ["prolific_pid", "completion_code"]
    readonly_fields = [
        "study", "is_pilot", "prolific_pid", "prolific_study_id", "prolific_session_id", "page", "language", "consent_version",
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
