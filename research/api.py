"""Researchers' API (token or staff session): study progress, the long-format answers and every export format."""

from django.db.models import Count
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response as ApiResponse
from rest_framework.views import APIView

from research.export import LONG_COLUMNS, Options, long_rows
from research.export_files import FORMATS, study_export
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
    queryset = Study.objects.order_by("slug")


AnswerRowSerializer = type(
    "AnswerRowSerializer", (serializers.Serializer,), {name: serializers.CharField() for name in LONG_COLUMNS}
)


class StudyResponses(APIView):
    @extend_schema(responses=AnswerRowSerializer(many=True))
    def get(self, request, slug):
        study = get_object_or_404(Study, slug=slug)
        return ApiResponse([{name: row[name] for name in LONG_COLUMNS} for row in long_rows(study)])


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
                "csv: the legacy long format with raw participant and Prolific ids; long, wide, events, codebook: "
                "CSV with pseudonymous ids; xlsx: every table plus a meta sheet; spss: the wide table as .sav")),
            OpenApiParameter("include_pilot", bool, description="Include pilot (bot) participants."),
            OpenApiParameter("include_prolific_pid", bool, description="Add raw Prolific ids (logged)."),
        ],
        responses={
            (200, media_type.split(";")[0]): OpenApiResponse(OpenApiTypes.BINARY, description=(
                "The export file; its metadata (configuration hash, software and index versions, time, who) "
                "in the X-Export-Meta header as JSON"))
            for media_type in {media for _suffix, media in FORMATS.values()}
        },
    )
    def get(self, request, slug):
        study = get_object_or_404(Study, slug=slug)
        format = request.query_params.get("format", "")
        if format not in FORMATS:
            raise ValidationError({"format": f"One of: {', '.join(FORMATS)}."})
        options = Options(
            include_pilot=_flag(request, "include_pilot"), include_prolific_pid=_flag(request, "include_prolific_pid")
        )
        export = study_export(
            study=study, format=format, options=options, exported_by=f"api:{request.user.get_username()}"
        )
        return export.download()
