from django.urls import path

from grader.attempts import views

urlpatterns = [
    path("progress/", views.progress, name="progress"),
    path("quizzes/<int:pk>/", views.quiz, name="quiz"),
    path("problems/<slug:kind>/<int:pk>/", views.problem, name="problem"),
    path("problems/<slug:kind>/<int:pk>/variants/", views.variants, name="variants"),
]
