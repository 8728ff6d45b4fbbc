"""The study list's actions: exports (raw Prolific ids only with a stated reason), the data package, duplicating,
the configuration file and prerendering; each checks the role its study gives the user (study.access)."""
from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render

from research import services
from research.export import Options
from research.export_files import ReasonRequired, study_data_package, study_export
from study.access import Can, study_add_owner, study_require
from study.models import Study
from study.services import FlowError


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="Why must raw Prolific ids leave the study?", max_length=500, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Kept in the audit log with who and when (e.g. 'bonus payments on Prolific for the pilot').",
    )


@admin.action(description="Export answers as CSV (one row per answer, with Prolific ids; asks why; logged)",
              permissions=["identify"])
def export_responses_csv(modeladmin, request, queryset):
    studies = list(queryset.order_by("slug"))
    if not studies:  # none of those chosen is this user's to see
        modeladmin.message_user(request, "None of the chosen studies can be exported by you.", messages.ERROR)
        return None
    for study in studies:
        study_require(user=request.user, study=study, can=Can.IDENTIFY)
    form = ReasonForm(request.POST if "reason" in request.POST else None)
    if not form.is_valid():  # first ask why, on a page of its own; the answer comes back to this action
        return render(request, "research/identifying_reason.html", {
            **modeladmin.admin_site.each_context(request), "opts": modeladmin.model._meta, "form": form,
            "studies": studies, "action": "export_responses_csv", "selected": helpers.ACTION_CHECKBOX_NAME,
            "title": "Export with raw Prolific ids",
        })
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="responses-{"-".join(s.slug for s in studies)}.csv"'
    for i, study in enumerate(studies):
        if i:
            response.write("\n")
        try:
            response.write(study_export(
                study=study, format="csv", exported_by=f"admin:{request.user.get_username()}",
                reason=form.cleaned_data["reason"],
            ).content)
        except ReasonRequired as error:  # a reason of blanks only
            raise PermissionDenied(str(error)) from error
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


@admin.action(description="Download the data package (ZIP: long, wide, events, codebook, XLSX, SPSS; pseudonymous)",
              permissions=["view"])
def export_data_package(modeladmin, request, queryset):
    return _data_package(request, queryset, include_pilot=False)


@admin.action(description="Download the data package including pilot (bot) participants", permissions=["view"])
def export_data_package_with_pilot(modeladmin, request, queryset):
    return _data_package(request, queryset, include_pilot=True)


@admin.action(description="Duplicate (a new draft with the same configuration, no participants)", permissions=["add"])
def duplicate_studies(modeladmin, request, queryset):
    for study in queryset:
        # A copy holds the whole configuration, to be edited and opened: a role that may configure the original.
        study_require(user=request.user, study=study, can=Can.CONFIGURE)
        n = 1
        while Study.objects.filter(slug=f"{study.slug}-copy{n if n > 1 else ''}").exists():
            n += 1
        try:
            copy = services.study_duplicate(study=study, slug=f"{study.slug}-copy{n if n > 1 else ''}")
        except FlowError as error:
            modeladmin.message_user(request, f"{study}: {error}", messages.ERROR)
        else:
            study_add_owner(study=copy, user=request.user)
            modeladmin.message_user(request, f"{study} duplicated as {copy.slug!r} (a draft).", messages.SUCCESS)


@admin.action(description="Download the configuration (JSON; python manage.py import_study recreates it)",
              permissions=["view"])
def download_configuration(modeladmin, request, queryset):
    if queryset.count() != 1:
        modeladmin.message_user(request, "Choose one study to download its configuration.", messages.ERROR)
        return None
    study = queryset.get()
    response = HttpResponse(
        json.dumps(services.study_to_config(study), indent=2, ensure_ascii=False, default=str), content_type="application/json"
    )
    response["Content-Disposition"] = f'attachment; filename="{study.slug}-study.json"'
    return response


@admin.action(description="Pre-render every explanation the study can show (background jobs)", permissions=["change"])
def prerender_explanations(modeladmin, request, queryset):
    for study in queryset:
        study_require(user=request.user, study=study, can=Can.CONFIGURE)
        try:
            batches = services.study_prerender_explanations(study=study)
        except FlowError as error:
            modeladmin.message_user(request, f"{study}: {error}", messages.ERROR)
        else:
            pairs = sum(len(b.pairs) for b in batches)
            wanted = sum(b.explanations for b in batches)
            done = services.study_prerender_done(batches=batches)
            modeladmin.message_user(
                request, f"{study}: {pairs} track pairs sent ({wanted} explanations in all); {done} of them are ready "
                "now. Run this action again to see how far the jobs have come.", messages.INFO,
            )
