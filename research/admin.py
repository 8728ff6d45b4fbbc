"""The study in the admin: its configuration, its inlines and its checklist; the study list's actions are in
research.admin_actions, the researcher's pages (gallery, monitor, analysis, exports, trying the study, deletion on
request) in research.admin_pages, the catalogs in research.admin_catalog. The participants' record is study.admin's,
read-only."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from research import (
    admin_catalog,  # noqa: F401  (registers the catalogs' admin)
    services,
)
from research.admin_actions import (
    download_configuration,
    duplicate_studies,
    export_data_package,
    export_data_package_with_pilot,
    export_responses_csv,
    prerender_explanations,
)
from research.admin_pages import ResearcherPagesMixin
from research.preregistration import preregistration_freeze
from study import frozen
from study.access import Can, study_add_owner, study_allows, user_studies
from study.models import Condition, Item, Preregistration, Study, StudyMember, StudyTranslation
from study.questionnaires import DEFAULT_SCALES, SCALES


class TranslationFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        changed = any(f.has_changed() for f in self.forms if f not in self.deleted_forms) or bool(self.deleted_forms)
        try:  # self.instance: the study with the values submitted beside these texts
            frozen.translations_check(self.instance, changed=changed)
        except ValidationError as error:
            raise forms.ValidationError(error.messages) from error


class StudyTranslationInline(admin.StackedInline):
    formset = TranslationFormSet
    model = StudyTranslation
    extra = 0
    verbose_name = "text in another language"
    verbose_name_plural = "texts in other languages (shown to participants whose pages are in that language)"


class FrozenInlineMixin:
    """Once participants have entered a study (study/frozen.py), its rows can be neither added nor removed,
    and only ``open_fields`` still change."""

    open_fields: tuple[str, ...] = ()

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and not (obj and obj.is_frozen)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not (obj and obj.is_frozen)

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj and obj.is_frozen:
            readonly += [f for f in self.get_fields(request, obj) if f not in self.open_fields and f not in readonly]
        return readonly


# The study page and the gallery must fit a laptop's 1280 px: the app list lives on the admin's home page and in
# the breadcrumbs, not in a 340 px sidebar beside every page.
admin.site.enable_nav_sidebar = False


class CompactInlineMixin:
    """A tabular inline that fits a laptop's 1280 px: short inputs (``widths``, in characters), two-line texts, and
    read-only text that wraps (css/admin.css)."""

    widths: dict[str, int] = {}

    class Media:
        css = {"all": ["css/admin.css"]}

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if field is None:
            return field
        width = self.widths.get(db_field.name)
        if isinstance(db_field, models.TextField):
            # Inline style: the admin's own .vLargeTextField width would win over cols.
            field.widget.attrs.update(rows=2, cols=width or 28, style=f"width: {width or 28}ch; min-width: 0")
        elif width:
            field.widget.attrs["style"] = f"width: {width}ch; min-width: 0"
        return field


class ConditionInline(CompactInlineMixin, FrozenInlineMixin, admin.TabularInline):
    model = Condition
    extra = 0
    fields = ["slug", "name", "explanation", "recommender", "weight", "is_active", "n_assigned"]
    readonly_fields = ["n_assigned"]
    open_fields = ("is_active",)
    widths = {"slug": 12, "name": 16, "weight": 4, "explanation": 22, "recommender": 24}

    @admin.display(description="Assigned")
    def n_assigned(self, condition):
        return condition.assignments.count() if condition.pk else 0


class ItemInline(CompactInlineMixin, FrozenInlineMixin, admin.TabularInline):
    model = Item
    extra = 0
    # A choice item's kind and options come from the questionnaire bank or an imported configuration; here, what
    # a researcher adjusts, in columns that fit 1280 px.
    fields = [
        "order", "section", "code", "construct", "text", "reverse_coded", "check_kind", "correct_value",
        "scale_min", "scale_max", "label_min", "label_max",
    ]
    widths = {"order": 4, "section": 9, "code": 10, "construct": 10, "text": 24, "check_kind": 9,
              "correct_value": 4, "scale_min": 4, "scale_max": 4, "label_min": 8, "label_max": 8}


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
        fields = "__all__"  # noqa: DJ007 (the admin's fieldsets below choose what is shown)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scales"].choices = [(key, scale["name"]) for key, scale in SCALES.items()]
        self.fields["scales"].initial = DEFAULT_SCALES


class StudyMemberInline(admin.TabularInline):
    """Who works on the study, and as what (study.access); only the study's owners change it."""

    model = StudyMember
    extra = 0
    fields = ["user", "role", "added_at"]
    readonly_fields = ["added_at"]
    verbose_name_plural = "members (who may see and do what with this study)"

    def has_view_permission(self, request, obj=None):
        return obj is None or study_allows(user=request.user, study=obj, can=Can.VIEW)

    def has_add_permission(self, request, obj=None):
        return obj is not None and study_allows(user=request.user, study=obj, can=Can.MANAGE)

    has_change_permission = has_delete_permission = has_add_permission

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":  # only staff accounts can work in the admin
            kwargs["queryset"] = db_field.related_model.objects.filter(is_staff=True, is_active=True).order_by("username")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class PreregistrationInline(admin.StackedInline):
    """The plan, decided before launch: opening the study freezes it; a later change is a logged amendment."""

    model = Preregistration
    extra = 0
    max_num = 1
    can_delete = False
    fields = ["hypothesis", "primary_outcomes", "direction", "test", "stopping_rule", "other", "frozen_at",
              "frozen_configuration_sha256"]
    readonly_fields = ["frozen_at", "frozen_configuration_sha256"]
    verbose_name_plural = ("preregistration (AsPredicted's nine questions, answered from this plan and the study's "
                           "configuration; frozen when the study opens)")

    def has_view_permission(self, request, obj=None):
        return obj is None or study_allows(user=request.user, study=obj, can=Can.VIEW)

    def has_add_permission(self, request, obj=None):
        return obj is not None and study_allows(user=request.user, study=obj, can=Can.CONFIGURE)

    has_change_permission = has_add_permission


@admin.register(Study)
class StudyAdmin(ResearcherPagesMixin, admin.ModelAdmin):
    form = StudyForm
    list_display = [
        "title", "slug", "state", "open_to_anyone", "n_participants", "n_completed", "balance", "n_pilots", "created_at",
    ]
    list_filter = ["state"]
    search_fields = ["title", "slug"]
    inlines = [StudyMemberInline, StudyTranslationInline, ConditionInline, ItemInline, PreregistrationInline]
    actions = [
        export_responses_csv, export_data_package, export_data_package_with_pilot, prerender_explanations,
        duplicate_studies, download_configuration,
    ]
    readonly_fields = ["researcher_pages", "sample_size", "warnings", "simulation_power"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "description", "catalog", "state", "open_to_anyone", "warnings",
                           "researcher_pages"]}),
        ("Participants' texts", {"fields": ["consent_text", "consent_version", "instructions_text", "debrief_text"]}),
        ("Design", {"fields": [
            "randomisation", "balance_on", "block_repeats", "target_per_condition", "effect_size_d", "alpha", "power",
            "sample_size", "exclusion_rules",
        ]}),
        ("Tracks and questions", {"fields": [
            "pool_styles", "pool_track_ids", "min_liked", "max_liked", "n_recommendations", "tag_vocabulary", "item_order",
            "required_listening_s", "min_duration_s",
        ]}),
        ("Understanding tests (forward simulation)", {
            "description": "Before the recommendations (pre-test) and after rating them (post-test), participants "
            "answer trials without any explanation: which of two tracks would the system recommend to someone who "
            "liked a third? The condition's own recommender decides the right answer. Accuracy, and its improvement "
            "from pre to post, measures what the explanations taught; the export's trials format holds every trial.",
            "fields": ["simulation_trials", "simulation_pretest", "simulation_bands", "simulation_base_accuracy",
                       "simulation_difference", "simulation_power"],
        }),
        ("Prolific", {"fields": ["pid_pattern", "prolific_completion_code", "prolific_no_consent_code"]}),
    ]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:  # adding: the questionnaire is chosen once, from the bank
            fieldsets = [*fieldsets, ("Questionnaire", {"fields": ["scales"]})]
        return fieldsets

    def get_changeform_initial_data(self, request):
        # A study made in the admin starts as a draft: nobody enters before the researcher opens it.
        return {**super().get_changeform_initial_data(request), "state": Study.State.DRAFT}

    # Who may do what: the model permission (Django's) and a role in this very study (study.access).
    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request) and (
            obj is None or study_allows(user=request.user, study=obj, can=Can.VIEW))

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request) and (
            obj is None or study_allows(user=request.user, study=obj, can=Can.CONFIGURE))

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request) and (
            obj is None or study_allows(user=request.user, study=obj, can=Can.MANAGE))

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.is_frozen:  # participants have entered: the design shows, it no longer changes
            readonly += [name for name in frozen.STUDY_FIELDS if name not in readonly]
        return readonly

    def has_identify_permission(self, request):
        """Raw Prolific ids (the CSV action): the permission; each study's role is checked by the action."""
        return request.user.is_superuser or request.user.has_perm("study.view_prolific_id")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:  # whoever creates a study owns it
            study_add_owner(study=obj, user=request.user)
        else:  # every change to a study's configuration goes to the audit log, old and new values
            services.study_log_change(study=obj, actor=f"admin:{request.user.get_username()}", what="study", changes={
                name: (form.initial.get(name), form.cleaned_data.get(name)) for name in form.changed_data if name != "scales"
            })

    def save_formset(self, request, form, formset, change):
        changed = [(f, {name: (f.initial.get(name), f.cleaned_data.get(name)) for name in f.changed_data})
                   for f in formset.forms if f.instance.pk and f.has_changed()]
        removed = [str(obj) for obj in formset.deleted_objects] if hasattr(formset, "deleted_objects") else []
        super().save_formset(request, form, formset, change)
        if not change:
            return
        actor, study = f"admin:{request.user.get_username()}", form.instance
        for row_form, changes in changed:
            if row_form not in formset.deleted_forms:
                services.study_log_change(study=study, actor=actor, what=f"{formset.model._meta.model_name} {row_form.instance}",
                                          changes=changes)
        for obj in formset.new_objects:
            services.study_log_change(study=study, actor=actor, what=f"{formset.model._meta.model_name} {obj} added",
                                      changes={"added": (None, str(obj))})
        for name in removed:
            services.study_log_change(study=study, actor=actor, what=f"{formset.model._meta.model_name} {name} removed",
                                      changes={"removed": (name, None)})

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        study = form.instance
        if not change:  # a new study gets the questionnaire chosen on its form
            services.study_add_questionnaire(study=study, scales=form.cleaned_data.get("scales") or [])
        if study.state == Study.State.OPEN:  # opening freezes the plan (after the inline saved it)
            preregistration_freeze(study=study, actor=f"admin:{request.user.get_username()}")
        for warning in services.study_warnings(study):
            messages.warning(request, warning)

    @admin.display(description="Before launch")
    def warnings(self, study):
        if not study.pk:
            return "–"
        problems = services.study_warnings(study)
        if not problems:
            return "Nothing missing."
        return format_html_join("", "<p class=\"errornote\">{}{}</p>", (
            (problem, format_html(" <a href=\"{}\">Go to {}</a>", self._fix_url(study, problem.fix), problem.fix[1])
             if getattr(problem, "fix", None) else "")
            for problem in problems
        ))

    @staticmethod
    def _fix_url(study, fix) -> str:
        name, _label = fix
        return reverse(name, args=[study.pk]) if name != "admin:study_study_changelist" else reverse(name)

    @admin.display(description="Power analysis")
    def sample_size(self, study):
        if not study.pk:
            return "Save the study and its conditions first."
        size = services.study_sample_size(study=study)
        return format_html(
            "<strong>{}</strong> participants per condition ({} in all) to detect d = {} with power {} "
            "({}; alpha {} per comparison over {} comparison{}; statsmodels).",
            size["per_condition"], size["total"], size["effect_size_d"], size["power"], size["planned"],
            f"{size['alpha_per_comparison']:.4g}", size["comparisons"], "s" if size["comparisons"] != 1 else "",
        )

    @admin.display(description="Power of the tests")
    def simulation_power(self, study):
        if not study.pk:
            return "Save the study first."
        if not study.simulation_trials:
            return "No understanding tests (0 trials)."
        size = services.study_simulation_sample_size(study=study)
        return format_html(
            "<strong>{}</strong> participants per condition to detect post-test accuracy {} vs {} with power {} "
            "({} trials each, design effect {} for an assumed intra-participant correlation of {}; two proportions, "
            "Cohen's h = {}, alpha {}; statsmodels).",
            size["per_condition"], f"{size['base']:.0%}", f"{size['base'] + size['difference']:.0%}", size["power"],
            size["trials"], size["design_effect"], size["icc"], size["cohens_h"], f"{size['alpha']:.4g}",
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
                ("events", "page visits and player events (CSV)"),
                ("trials", "understanding-test trials, one row per trial (CSV)"), ("codebook", "the codebook (CSV)"),
                ("xlsx", "everything as XLSX"), ("spss", "the wide table as SPSS .sav"),
                ("spss_trials", "the trials as SPSS .sav"),
            )],
            # Pilot data is left out of the downloads above; during a pilot it is all there is.
            *[("study_study_export", f"{fmt}/?pilot=1", f"Download {fmt} with pilot participants")
              for fmt in ("long", "wide", "events", "trials", "xlsx", "spss")],
            ("study_study_prepare", "", "Prepare the catalog: analysis, taggers, CNN, indexes, evaluation and every "
             "explanation, with its progress"),
            ("study_study_try", "", "Try the study: preview any condition as a participant; discard test data before opening"),
            ("study_study_delete_participant", "", "Delete a participant’s data on request (by Prolific id, pseudonym or P-number)"),
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
        return super().get_queryset(request).filter(pk__in=user_studies(request.user).values("pk")).annotate(
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
