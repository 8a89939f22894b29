"""Reference checkpoints for offline exploration: a page with a loading snippet, and the files themselves."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from grader.playground import selectors


@login_required
def checkpoints(request: HttpRequest) -> HttpResponse:
    return render(request, "grader/playground/checkpoints.html", {"checkpoints": selectors.downloadable_checkpoints()})


@login_required
def checkpoint_file(request: HttpRequest, name: str, part: str) -> HttpResponse:
    """The metadata as stored; the weights as the learner's own copy (see ``selectors.learners_weights``)."""
    checkpoint = selectors.downloadable_checkpoint(name)
    if checkpoint is None:
        raise Http404("No downloadable reference model by that name.")
    if part == "metadata":
        return FileResponse(checkpoint.metadata.open("rb"), as_attachment=True, filename=checkpoint.metadata.name)
    response = HttpResponse(selectors.learners_weights(checkpoint, request.user.pk), content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="{checkpoint.weights.name}"'
    return response
