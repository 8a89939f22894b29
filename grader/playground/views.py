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
def checkpoint_file(request: HttpRequest, name: str, part: str) -> FileResponse:
    checkpoint = selectors.downloadable_checkpoint(name)
    if checkpoint is None:
        raise Http404("No downloadable reference model by that name.")
    path = checkpoint.weights if part == "weights" else checkpoint.metadata
    return FileResponse(path.open("rb"), as_attachment=True, filename=path.name)
