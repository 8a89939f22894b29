from django.urls import path

from grader.submissions import views

urlpatterns = [
    path("exercises/<slug:slug>/", views.exercise, name="exercise"),
]
