"""Quiz submissions over HTTP against the production-shaped server: gunicorn, PostgreSQL, DEBUG off.

Builds a throwaway PostgreSQL database (lesson 25-01 imported, LEARNERS learners each with a logged-in
session), starts gunicorn on loopback, and drives POST /api/attempts/quizzes/<id> (session auth with
CSRF, six questions graded, the attempt and its responses written, the learner's state read back) from
CONCURRENCY connections for DURATION seconds. It prints throughput, latency percentiles, the CPU
seconds each party used (which is what limits it on a small machine), the queries one submission
makes, and a short in-process profile. Last line: ``rps=… p50_ms=… p95_ms=…``.

    .venv/bin/python bench/quiz_submissions.py [--workers 3] [--threads 1] [--duration 15]

Needs PostgreSQL at BENCH_PG (default postgres://postgres@127.0.0.1:5432); creates and drops the
database mechgrade_bench there. The quiz allows unlimited attempts here, so a learner's count keeps
growing during the run; the attempt limit is still checked on every submission.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DATABASE = "mechgrade_bench"
LEARNERS = 256
PORT_HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((PORT_HOST, 0))
        return sock.getsockname()[1]


def server_environment(data_dir: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": f"{PG}/{DATABASE}",
        "DEBUG": "0",
        "SECRET_KEY": "bench-" + "k" * 50,
        "MECHGRADE_DATA_DIR": data_dir,
        "ALLOWED_HOSTS": PORT_HOST,
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }


def recreate_database() -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {DATABASE}")


def drop_database() -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


def prepare() -> tuple[int, list[int], list[tuple[str, str]]]:
    """Migrate, import lesson 25-01, open the quiz to unlimited attempts, log LEARNERS learners in."""
    import django

    django.setup()
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command

    from courses.models import Lesson
    from courses.services import import_lesson_folder

    call_command("migrate", verbosity=0)
    import_lesson_folder(ROOT / "fixtures" / "lessons" / "25-01")
    quiz = Lesson.objects.get(code="25-01").quiz
    quiz.attempts_allowed = 0
    quiz.save()
    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"bench{n}", password="!") for n in range(LEARNERS)
    )
    sessions = []
    for user in users:
        store = SessionStore()
        store.update({SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
                      HASH_SESSION_KEY: user.get_session_auth_hash()})
        store.create()
        sessions.append((store.session_key, secrets.token_hex(16)))
    return quiz.pk, list(quiz.questions.values_list("pk", flat=True)), sessions


def queries_and_profile(quiz_id: int, question_ids: list[int], sessions: list[tuple[str, str]]) -> tuple[int, str]:
    """Queries per submission, and where the time goes inside Django for 300 submissions (no HTTP)."""
    from django.db import connection
    from django.test import Client

    client = Client(HTTP_HOST=PORT_HOST)
    url = f"/api/attempts/quizzes/{quiz_id}"

    def submit() -> None:
        client.cookies["sessionid"] = random.choice(sessions)[0]
        body = json.dumps({"answers": {str(q): [random.choice("ABCD")] for q in question_ids}})
        response = client.post(url, body, content_type="application/json")
        assert response.status_code == 201, response.content

    submit()
    queries: list[str] = []
    with connection.execute_wrapper(lambda execute, sql, params, many, context: queries.append(sql) or execute(sql, params, many, context)):
        submit()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(300):
        submit()
    profiler.disable()
    return len(queries) + 2, own_time_by_package(profiler, 300)  # + BEGIN and COMMIT, which bypass the wrapper


def own_time_by_package(profiler: cProfile.Profile, requests: int) -> str:
    """Profiled time per request, grouped by where it is spent: waiting on PostgreSQL, Django, our code, …"""
    spent: Counter[str] = Counter()
    for (filename, _, function), (_, _, own, _, _) in pstats.Stats(profiler).stats.items():  # type: ignore[attr-defined]
        if "psycopg" in filename and function in {"wait", "_execute_send"}:
            where = "waiting on PostgreSQL (psycopg wait/send)"
        elif "site-packages/" in filename:
            where = filename.split("site-packages/")[1].split("/")[0]
        elif str(ROOT) in filename:
            where = "mechgrade " + filename.split(str(ROOT) + "/")[1]
        else:
            where = "stdlib and builtins"
        spent[where] += own
    lines = [f"  {seconds / requests * 1000:6.2f} ms  {where}" for where, seconds in spent.most_common(8)]
    return "\n".join(lines)


def commit_cost_ms(rounds: int = 100) -> float:
    """What one durable commit (WAL fsync) costs on this disk: the floor under every submission's transaction."""
    import psycopg

    with psycopg.connect(f"{PG}/{DATABASE}", autocommit=True) as connection:
        connection.execute("CREATE TABLE commit_probe (x int)")  # not TEMP: temporary tables skip the WAL
        started = time.perf_counter()
        for _ in range(rounds):
            connection.execute("INSERT INTO commit_probe VALUES (1)")
        return (time.perf_counter() - started) / rounds * 1000


def machine_busy_seconds() -> float:
    """CPU seconds all processes on the machine have used, from /proc/stat."""
    user, nice, system, idle, iowait, irq, softirq, steal = (int(x) for x in Path("/proc/stat").read_text().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def pids_named(name: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                found.append(int(entry.name))
    return found


async def one_client(port: int, quiz_id: int, question_ids: list[int], sessions, deadline: float, latencies: list[float], errors: list[str]) -> None:
    reader = writer = None
    rng = random.Random()
    while time.perf_counter() < deadline:
        session, csrf = rng.choice(sessions)
        body = json.dumps({"answers": {str(q): [rng.choice("ABCD")] for q in question_ids}}).encode()
        request = (
            f"POST /api/attempts/quizzes/{quiz_id} HTTP/1.1\r\nHost: {PORT_HOST}:{port}\r\n"
            f"Cookie: sessionid={session}; csrftoken={csrf}\r\nX-CSRFToken: {csrf}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        started = time.perf_counter()
        if writer is None:
            reader, writer = await asyncio.open_connection(PORT_HOST, port)
        writer.write(request)
        status_line = await reader.readline()
        headers = {}
        while (line := await reader.readline()) not in (b"\r\n", b""):
            key, _, value = line.decode().partition(":")
            headers[key.strip().lower()] = value.strip()
        await reader.readexactly(int(headers.get("content-length", "0")))
        latencies.append(time.perf_counter() - started)
        status = status_line.split()[1].decode() if status_line else "closed"
        if status != "201":
            errors.append(status)
        if headers.get("connection", "").lower() == "close" or not status_line:
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


async def load(port: int, quiz_id: int, question_ids: list[int], sessions, concurrency: int, seconds: float) -> tuple[list[float], list[str]]:
    latencies: list[float] = []
    errors: list[str] = []
    deadline = time.perf_counter() + seconds
    await asyncio.gather(*(one_client(port, quiz_id, question_ids, sessions, deadline, latencies, errors) for _ in range(concurrency)))
    return latencies, errors


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (more than 1 selects gthread, with keep-alive)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    options = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="mechgrade-quiz-bench-")
    env = server_environment(data_dir)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    recreate_database()
    quiz_id, question_ids, sessions = prepare()

    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"{PORT_HOST}:{port}",
               "--workers", str(options.workers), "--threads", str(options.threads), "--log-level", "warning",
               "--backlog", "512", "--keep-alive", "5"]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    try:
        for _ in range(100):
            try:
                socket.create_connection((PORT_HOST, port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        asyncio.run(load(port, quiz_id, question_ids, sessions, options.concurrency, options.warmup))

        workers = children(server.pid)
        postgres = pids_named("postgres")
        before = (cpu_seconds(workers), cpu_seconds(postgres), time.process_time(), machine_busy_seconds())
        started = time.perf_counter()
        latencies, errors = asyncio.run(load(port, quiz_id, question_ids, sessions, options.concurrency, options.duration))
        wall = time.perf_counter() - started
        after = (cpu_seconds(workers), cpu_seconds(postgres), time.process_time(), machine_busy_seconds())
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    query_count, profile = queries_and_profile(quiz_id, question_ids, sessions)
    commit_ms = commit_cost_ms()
    from django.db import connections

    connections.close_all()
    drop_database()
    shutil.rmtree(data_dir, ignore_errors=True)

    rps = len(latencies) / wall
    p50, p95, p99 = (percentile(latencies, f) * 1000 for f in (0.50, 0.95, 0.99))
    web_cpu, db_cpu, client_cpu, machine_cpu = (b - a for a, b in zip(before, after))
    others_cpu = max(0.0, machine_cpu - web_cpu - db_cpu - client_cpu)
    print(f"server: gunicorn, {options.workers} worker(s) × {options.threads} thread(s), PostgreSQL, DEBUG off; {os.cpu_count()} cores")
    print(f"load: {options.concurrency} connections for {wall:.1f} s, {len(latencies)} quiz submissions (6 questions each), {len(errors)} not 201 {sorted(set(errors))[:5]}")
    print(f"throughput: {rps:.0f} submissions/s")
    print(f"latency: p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms, mean {statistics.mean(latencies) * 1000:.1f} ms")
    print(f"CPU used during the run (of {wall * (os.cpu_count() or 1):.1f} core-seconds available):")
    print(f"  gunicorn workers {web_cpu:.1f} s ({web_cpu / len(latencies) * 1000:.2f} ms per submission)")
    print(f"  PostgreSQL       {db_cpu:.1f} s ({db_cpu / len(latencies) * 1000:.2f} ms per submission)")
    print(f"  load generator   {client_cpu:.1f} s")
    print(f"  everything else  {others_cpu:.1f} s (other processes on this machine)")
    print(f"one durable commit (WAL fsync) costs {commit_ms:.1f} ms here")
    print(f"queries per submission: {query_count}")
    print("where one submission's time goes, in-process under cProfile (Django test client, no HTTP; profiler overhead included):")
    print(profile)
    print(f"rps={rps:.0f} p50_ms={p50:.1f} p95_ms={p95:.1f} p99_ms={p99:.1f} errors={len(errors)} workers={options.workers} threads={options.threads} concurrency={options.concurrency}")


if __name__ == "__main__":
    main()
