"""Lesson 25-01: importing its files, and serving its page with a cold and a warm Markdown cache.

The page renders some 140 Markdown blocks (about 70 formulas through latex2mathml), so the rendered
HTML is cached by text hash; this shows what the cache buys. Anonymous visitor (no answer panels),
in-process test client, scratch SQLite unless DATABASE_URL is set. Last line: key=value figures.

    .venv/bin/python bench/lesson_page.py
"""

from __future__ import annotations

import statistics
import time

from pipeline_setup import ROOT, setup_django

WARM_REQUESTS = 50


def main() -> None:
    setup_django()
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from courses.services import import_lesson_folder

    folder = ROOT / "fixtures" / "lessons" / "25-01"
    started = time.perf_counter()
    report = import_lesson_folder(folder)
    import_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    again = import_lesson_folder(folder)
    reimport_ms = (time.perf_counter() - started) * 1000
    print(f"import: {import_ms:.0f} ms ({report}); re-import: {reimport_ms:.0f} ms ({again})")

    client = Client()
    url = report.lesson.get_absolute_url()
    cold = []
    for _ in range(5):
        cache.clear()
        started = time.perf_counter()
        response = client.get(url)
        cold.append((time.perf_counter() - started) * 1000)
    assert response.status_code == 200
    warm = []
    for _ in range(WARM_REQUESTS):
        started = time.perf_counter()
        client.get(url)
        warm.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as queries:
        html = client.get(url).content.decode()
    warm.sort()
    p95 = warm[int(0.95 * (len(warm) - 1))]
    print(f"page: {len(html) / 1024:.0f} KiB, {html.count('<math ')} formulas, {len(queries)} queries")
    print(f"cold cache: median {statistics.median(cold):.0f} ms over {len(cold)}")
    print(f"warm cache: p50 {statistics.median(warm):.1f} ms, p95 {p95:.1f} ms over {WARM_REQUESTS}")
    print(
        f"import_ms={import_ms:.0f} reimport_ms={reimport_ms:.0f} cold_ms={statistics.median(cold):.0f} "
        f"warm_p50_ms={statistics.median(warm):.1f} warm_p95_ms={p95:.1f} queries={len(queries)}"
    )


if __name__ == "__main__":
    main()
