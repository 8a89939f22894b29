from django.urls import include, path

app_name = "grader"
urlpatterns = [
    path("", include("grader.attempts.urls")),
    path("", include("grader.submissions.urls")),
    path("", include("grader.playground.urls")),
]
