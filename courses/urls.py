from django.urls import path

from courses import views

app_name = "courses"
urlpatterns = [
    path("", views.catalog, name="catalog"),
    path("lessons/<str:code>/", views.lesson, name="lesson"),
    path("lessons/<str:code>/<slug:kind>/<int:pk>/answer/", views.reveal, name="reveal"),
    path("figures/<slug:name>.svg", views.figure, name="figure"),
]
