from django.urls import path

from study import endpoints, views

app_name = "study"

urlpatterns = [
    path("s/<slug:slug>/", views.enter, name="enter"),
    path("s/<slug:slug>/consent/", views.consent, name="consent"),
    path("s/<slug:slug>/instructions/", views.instructions, name="instructions"),
    path("s/<slug:slug>/about-you/", views.pre, name="pre"),
    path("s/<slug:slug>/choose/", views.choose, name="choose"),
    path("s/<slug:slug>/test/", views.pretest, name="pretest"),
    path("s/<slug:slug>/wait/", views.wait, name="wait"),
    path("s/<slug:slug>/status/", endpoints.status, name="status"),
    path("s/<slug:slug>/rate/", views.rate, name="rate"),
    path("s/<slug:slug>/test-again/", views.posttest, name="posttest"),
    path("s/<slug:slug>/questionnaire/", views.questionnaire, name="questionnaire"),
    path("s/<slug:slug>/answer/", endpoints.answer, name="answer"),
    path("s/<slug:slug>/listen/", endpoints.listen, name="listen"),
    path("s/<slug:slug>/done/", views.done, name="done"),
    path("s/<slug:slug>/declined/", views.declined, name="declined"),
]
