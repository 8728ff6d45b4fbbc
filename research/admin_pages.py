"""The researcher's pages of a study, linked from its admin page: monitor, analysis, exports, trying the study,
deleting a participant's data on request, and the gallery; each checks the role the study gives the user."""
from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path

from research import services
from research.analysis_report import study_analyse
from research.export import Options
from research.export_files import FORMATS, study_export
from research.gallery import study_gallery, study_tag_vocabularies
from research.monitor import study_monitor
from study.access import Can, study_allows, user_study
from study.models import Preparation, Study
from study.services import FlowError
from study.views import participant_session_key


class DeleteParticipantForm(forms.Form):
    prolific_pid = forms.CharField(
        label="Participant", max_length=200,
        help_text="Their Prolific id (PROLIFIC_PID), the pseudonym the exports give them, or the admin's P<number> "
        "(participants of a study open to anyone may have no Prolific id).",
    )
    confirm = forms.BooleanField(label="I understand that this deletes the participant's data for good.")


class PrepareForm(forms.Form):
    cnn_minutes = forms.FloatField(
        label="CNN training budget (minutes)", min_value=0.5, max_value=180, initial=services.DEFAULT_CNN_MINUTES,
        help_text="Training stops within this; a CNN already trained on exactly these clips is kept.",
    )
    cnn = forms.BooleanField(label="Train the CNN", required=False, initial=True)


class ResearcherPagesMixin:
    """StudyAdmin's own pages, beside Django's change form."""

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/gallery/", view(self.gallery_view), name="study_study_gallery"),
            path("<int:pk>/monitor/", view(self.monitor_view), name="study_study_monitor"),
            path("<int:pk>/analysis/", view(self.analysis_view), name="study_study_analysis"),
            path("<int:pk>/export/<str:format>/", view(self.export_view), name="study_study_export"),
            path("<int:pk>/delete-participant/", view(self.delete_participant_view), name="study_study_delete_participant"),
            path("<int:pk>/try/", view(self.try_view), name="study_study_try"),
            path("<int:pk>/prepare/", view(self.prepare_view), name="study_study_prepare"),
            *super().get_urls(),
        ]

    def _page(self, request, study, template, **context):
        return render(request, template, {
            **self.admin_site.each_context(request), "opts": self.model._meta, "study": study, **context,
        })

    def monitor_view(self, request, pk):
        """Arrivals, the flow through each condition, drop-out and time per page; refreshes itself."""
        study = user_study(request.user, pk=pk)
        include_pilot = request.GET.get("pilot") == "1"
        return self._page(request, study, "research/monitor.html", title=f"Monitor: {study} ({study.slug})",
                          monitor=study_monitor(study=study, include_pilot=include_pilot), include_pilot=include_pilot)

    def analysis_view(self, request, pk):
        """The by-condition analysis report (the same as analyse_study writes), figures inline."""
        study = user_study(request.user, pk=pk)
        report = study_analyse(study=study, include_pilot=request.GET.get("pilot") == "1", inline_figures=True)
        return HttpResponse(report.html)

    def export_view(self, request, pk, format):
        """One export file (the study page's buttons); every download is written to the audit log."""
        study = user_study(request.user, pk=pk)
        if format not in FORMATS or format == "csv":
            return HttpResponse("Unknown export format.", status=404)
        export = study_export(
            study=study, format=format, exported_by=f"admin:{request.user.get_username()}",
            options=Options(include_pilot=request.GET.get("pilot") == "1"),
        )
        return export.download_with_meta()  # a browser keeps no header: the file and what made it, together

    def delete_participant_view(self, request, pk):
        """Delete one participant's data on request, by Prolific id (the audited path; nothing else deletes)."""
        study = user_study(request.user, Can.DELETE_DATA, pk=pk)
        form = DeleteParticipantForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                deleted = services.participant_delete(
                    study=study, reference=form.cleaned_data["prolific_pid"],
                    actor=f"admin:{request.user.get_username()}",
                )
            except services.NoSuchParticipant as error:
                form.add_error("prolific_pid", str(error))
            else:
                messages.success(request, f"Deleted: {', '.join(f'{n} {k}' for k, n in deleted.items())}. Logged.")
                return redirect("admin:study_study_change", study.pk)
        return self._page(request, study, "research/delete_participant.html",
                          title=f"Delete a participant's data: {study}", form=form)

    def try_view(self, request, pk):
        """Preview any condition as a (pilot) participant in this browser; discard test data before opening."""
        study = user_study(request.user, Can.CONFIGURE, pk=pk)
        actor = f"admin:{request.user.get_username()}"
        if request.method == "POST":
            try:
                if request.POST.get("action") == "discard":
                    counts = services.study_discard_test_data(study=study, actor=actor)
                    messages.success(request, f"Discarded {counts['participants']} pilot participants and their "
                                              f"{counts['answers']} answers. Logged.")
                    return redirect("admin:study_study_try", study.pk)
                condition = study.conditions.filter(slug=request.POST.get("condition", "")).first()
                if condition is None:
                    raise FlowError("Choose one of this study's conditions.")
                participant = services.participant_preview(study=study, condition=condition, actor=actor)
            except FlowError as error:
                messages.error(request, str(error))
                return redirect("admin:study_study_try", study.pk)
            request.session[participant_session_key(study)] = participant.token
            return redirect("study:consent", slug=study.slug)
        return self._page(
            request, study, "research/try.html", title=f"Try the study: {study}",
            conditions=list(study.conditions.order_by("pk")), pilots=study.participants.filter(is_pilot=True).count(),
            can_discard=study.state in (Study.State.DRAFT, Study.State.PILOT),
        )

    def prepare_view(self, request, pk):
        """The catalog's preparation for this study (analysis, taggers, CNN, indexes, evaluation, every
        explanation) as a job on a batch worker, and its panel: each stage's state, done/total, ETA and errors."""
        study = user_study(request.user, Can.CONFIGURE if request.method == "POST" else Can.VIEW, pk=pk)
        form = PrepareForm(request.POST or None)
        if request.method == "POST":
            if not request.user.has_perm("recommender.change_catalog"):
                raise PermissionDenied("Preparing a catalog needs the permission to change catalogs.")
            if form.is_valid():
                try:
                    services.preparation_start(
                        catalog=study.catalog, study=study, actor=f"admin:{request.user.get_username()}",
                        user=request.user, options=form.cleaned_data,
                    )
                except FlowError as error:
                    messages.error(request, str(error))
                else:
                    messages.success(request, "Preparation sent to a batch worker; this page follows it.")
                return redirect("admin:study_study_prepare", study.pk)
        preparation = Preparation.objects.filter(catalog=study.catalog).select_related("study", "requested_by").first()
        return self._page(
            request, study, "research/prepare.html", title=f"Prepare the catalog: {study}", form=form,
            preparation=preparation,
            plan=services.preparation_plan(catalog=study.catalog, study=study) if not preparation or not preparation.active else None,
            can_start=request.user.has_perm("recommender.change_catalog")
            and study_allows(user=request.user, study=study, can=Can.CONFIGURE),
        )

    def gallery_view(self, request, pk):
        """Every condition's explanation of the same sample pairs, side by side, to check before launch."""
        study = user_study(request.user, pk=pk)
        try:
            rows = study_gallery(study=study, n_pairs=min(12, max(1, int(request.GET.get("n", 4)))))
            error = " ".join(services.study_missing_indexes(study))  # the checklist's other items cost more
        except (FlowError, ValueError) as problem:
            rows, error = [], str(problem)
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta, "study": study, "rows": rows,
            "conditions": list(study.conditions.all()), "error": error, "title": f"Explanation gallery: {study}",
            "vocabularies": study_tag_vocabularies(study=study),
        }
        return render(request, "research/gallery.html", context)
