from django.urls import path

from grader.playground import views

urlpatterns = [
    path("reference-models/", views.checkpoints, name="checkpoints"),
    path("reference-models/<slug:name>.safetensors", views.checkpoint_file, {"part": "weights"}, name="checkpoint_weights"),
    path("reference-models/<slug:name>.json", views.checkpoint_file, {"part": "metadata"}, name="checkpoint_metadata"),
]
