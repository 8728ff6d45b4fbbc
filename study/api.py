"""Researchers' API (token or staff session): study progress and the long-format answers."""
from django.db.models import Count
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.response import Response as ApiResponse
from rest_framework.views import APIView

from study.export import LONG_COLUMNS, long_rows
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
        fields = ["slug", "title", "is_open", "participants", "conditions"]

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
        return ApiResponse(list(long_rows(study)))
