from django.urls import path

from research import api

urlpatterns = [
    path("studies/", api.StudyList.as_view(), name="api-studies"),
    path("studies/<slug:slug>/responses/", api.StudyResponses.as_view(), name="api-study-responses"),
    path("studies/<slug:slug>/export/", api.StudyExport.as_view(), name="api-study-export"),
]
