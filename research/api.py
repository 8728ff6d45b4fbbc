"""Researchers' API (token or staff session): study progress, the long-format answers and every export format.

Each endpoint shows a user only the studies their role allows (study.access); raw Prolific ids need the
study.view_prolific_id permission, a role that allows it and a reason, and are logged."""

import csv
import io

from django.db.models import Count
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response as ApiResponse
from rest_framework.views import APIView

from research.export import LONG_COLUMNS, Options
from research.export_files import FORMATS, ReasonRequired, identifying, study_export
from study.access import Can, study_allows, user_studies, user_study
from study.models import Condition, Study


class ConditionSerializer(serializers.ModelSerializer):
    assigned = serializers.IntegerField(read_only=True)

    class Meta:
        model = Condition
        fields = ["slug", "name", "explanation", "is_active", "assigned"]


class StudySerializer(serializers.ModelSerializer):
    conditions = serializers.SerializerMethodField()
    participants = serializers.IntegerField(source="participants.count", read_only=True)

    class Meta:
        model = Study
        fields = ["slug", "title", "state", "participants", "conditions"]

    @extend_schema(responses=ConditionSerializer(many=True))
    def get_conditions(self, study) -> list[dict]:
        conditions = study.conditions.annotate(assigned=Count("assignments"))
        return ConditionSerializer(conditions, many=True).data


class StudyList(ListAPIView):
    serializer_class = StudySerializer

    def get_queryset(self):
        return user_studies(self.request.user).order_by("slug")


def _export(request, study: Study, format: str, options: Options):
    if identifying(format, options) and not study_allows(user=request.user, study=study, can=Can.IDENTIFY):
        raise PermissionDenied("Raw Prolific ids need the study.view_prolific_id permission and a role that allows it.")
    try:
        return study_export(
            study=study, format=format, options=options, exported_by=f"api:{request.user.get_username()}",
            reason=request.query_params.get("reason", ""),
        )
    except ReasonRequired as error:
        raise ValidationError({"reason": str(error)}) from error


AnswerRowSerializer = type(
    "AnswerRowSerializer", (serializers.Serializer,), {name: serializers.CharField() for name in LONG_COLUMNS}
)


class StudyResponses(APIView):
    """The long-format answers as JSON: pseudonymous, unless raw Prolific ids are asked for (logged, as an export)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("include_prolific_pid", bool, description="Add raw Prolific ids (permission, reason; logged)."),
            OpenApiParameter("reason", str, description="Why raw Prolific ids must leave: required with them, logged."),
        ],
        responses=AnswerRowSerializer(many=True),
    )
    def get(self, request, slug):
        study = user_study(request.user, slug=slug)
        options = Options(include_prolific_pid=_flag(request, "include_prolific_pid"))
        export = _export(request, study, "long", options)
        rows = csv.DictReader(io.StringIO(export.content.decode("utf-8")))
        return ApiResponse([{name: row.get(name, "") for name in LONG_COLUMNS} for row in rows])


class JsonOnly(DefaultContentNegotiation):
    """Errors are JSON; ``?format=`` names the export file, not one of DRF's renderers."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return JSONRenderer(), JSONRenderer.media_type


def _flag(request, name: str) -> bool:
    raw = request.query_params.get(name, "")
    if raw.lower() not in ("", "0", "1", "true", "false", "yes", "no"):
        raise ValidationError({name: "Use 1 or 0."})
    return raw.lower() in ("1", "true", "yes")


class StudyExport(APIView):
    content_negotiation_class = JsonOnly

    @extend_schema(
        parameters=[
            OpenApiParameter("format", str, enum=list(FORMATS), required=True, description=(
                "csv: the legacy long format with raw participant and Prolific ids; long, wide, events, trials "
                "(understanding tests), codebook: CSV with pseudonymous ids; xlsx: every table plus a meta sheet; "
                "spss: the wide table as .sav; spss_trials: the trials as .sav")),
            OpenApiParameter("include_pilot", bool, description="Include pilot (bot) participants."),
            OpenApiParameter("include_prolific_pid", bool, description="Add raw Prolific ids (permission, reason; logged)."),
            OpenApiParameter("reason", str, description="Why raw Prolific ids must leave (csv, include_prolific_pid): logged."),
        ],
        responses={
            (200, media_type.split(";")[0]): OpenApiResponse(OpenApiTypes.BINARY, description=(
                "The export file; its metadata (configuration hash, software and index versions, time, who) "
                "in the X-Export-Meta header as JSON"))
            for media_type in {media for _suffix, media in FORMATS.values()}
        },
    )
    def get(self, request, slug):
        study = user_study(request.user, slug=slug)
        format = request.query_params.get("format", "")
        if format not in FORMATS:
            raise ValidationError({"format": f"One of: {', '.join(FORMATS)}."})
        options = Options(
            include_pilot=_flag(request, "include_pilot"), include_prolific_pid=_flag(request, "include_prolific_pid")
        )
        return _export(request, study, format, options).download()
