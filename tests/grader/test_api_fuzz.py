"""Schema-driven fuzz of the JSON API: for every operation in the OpenAPI schema, a signed-in learner
sends random input shaped by the schema (and, at every level, sometimes of the wrong type): text with
lone surrogates and control characters, huge and negative numbers, nested lists, known and unknown
ids and keys. No answer may be a server error. Bounded (``max_examples`` per operation, derandomized so
CI is repeatable), well under a minute in all."""

from __future__ import annotations

import json
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from config.api import api
from courses.models import Quiz
from grader.submissions import services as submission_services
from tests.grader.conftest import MemoryStore
from tests.grader.submission_fixtures import make_exercise
from workers import playground

SCHEMA = api.get_openapi_schema()
COMPONENTS = SCHEMA["components"]["schemas"]
OPERATIONS = [(method.upper(), path, operation) for path, methods in SCHEMA["paths"].items()
              for method, operation in methods.items()]

FUZZ = hypothesis_settings(
    max_examples=50, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Text as hostile as JSON can carry: any code point, lone surrogates included (json.dumps escapes them).
hostile_text = st.one_of(
    st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF, categories=None, exclude_categories=()), max_size=40),
    st.sampled_from(["", " ", "\ud800", "\udfff", "1e999999", "-0", "NaN", "Infinity", "1/0", "0x10", "²", "٣",
                     "9" * 400, "1" * 1200, "$\\frac{$", "=cmd|'/C calc'!A0", "../../etc/passwd", "\x00", "a\u202eb"]),
)
huge_numbers = st.one_of(
    st.integers(), st.integers(min_value=-(2**200), max_value=2**200), st.sampled_from([2**63, -(2**63) - 1, 10**400]),
    st.floats(allow_nan=False, allow_infinity=False),
)
any_json = st.recursive(
    st.one_of(st.none(), st.booleans(), huge_numbers, hostile_text),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(hostile_text, inner, max_size=4),
    max_leaves=12,
)


def from_schema(schema: dict, keys: st.SearchStrategy, top: bool = True) -> st.SearchStrategy:
    """Values of the schema's shape (dict keys and strings drawn from ``keys``: the fixtures' real ids,
    slugs and part keys, or anything), each level sometimes replaced by any JSON at all."""
    if "$ref" in schema:
        schema = COMPONENTS[schema["$ref"].rsplit("/", 1)[1]]
    if "anyOf" in schema:
        shaped = st.one_of([from_schema(option, keys) for option in schema["anyOf"]])
    else:
        kind = schema.get("type")
        if kind == "object":
            properties = schema.get("properties", {})
            extra = schema.get("additionalProperties")
            required = set(schema.get("required", []))
            fixed = st.fixed_dictionaries(
                {name: from_schema(sub, keys, False) for name, sub in properties.items() if name in required},
                optional={name: from_schema(sub, keys, False) for name, sub in properties.items() if name not in required},
            )
            if isinstance(extra, dict):
                fixed = st.tuples(fixed, st.dictionaries(keys, from_schema(extra, keys, False), max_size=5)).map(
                    lambda pair: pair[1] | pair[0])
            shaped = fixed
        elif kind == "array":
            shaped = st.lists(from_schema(schema.get("items", {}), keys, False), max_size=5)
        elif kind == "string":
            shaped = st.one_of(hostile_text, keys)
        elif kind in ("integer", "number"):
            shaped = huge_numbers
        elif kind == "boolean":
            shaped = st.booleans()
        else:
            shaped = any_json
    return st.one_of([shaped] * (3 if top else 9) + [any_json])


@pytest.fixture
def world(settings, monkeypatch, quiz, example_1, example_2, problem_1, problem_2):
    """Every kind of item a learner can reach, no limit in the way of reaching the services, no broker."""
    settings.GRADER_MAX_PENDING = settings.GRADER_RATE_LIMIT = 10**6
    Quiz.objects.filter(pk=quiz.pk).update(attempts_allowed=0, attempts_per_minute=0)
    for item in (example_1, example_2, problem_1, problem_2):
        type(item).objects.filter(pk=item.pk).update(attempts_per_minute=0)
    exercise = make_exercise()
    store = MemoryStore()
    monkeypatch.setattr(playground, "store", lambda: store)
    monkeypatch.setattr(playground.run_playground, "apply_async", lambda *args, **kwargs: None)
    monkeypatch.setattr(submission_services.grade_submission, "apply_async", lambda *args, **kwargs: None)
    ids = {"quiz_id": [quiz.pk], "item_id": [example_1.pk, example_2.pk, problem_1.pk, problem_2.pk]}
    keys = [str(pk) for pk in quiz.questions.values_list("pk", flat=True)]
    keys += [part.key for item in (example_1, problem_1) for part in item.parts.all()]
    keys += ["A", "B", "C", "D", exercise.slug, "print(1)", "0.6", "1/3"]
    keys += [str(pk) for pk in problem_2.rubric.values_list("pk", flat=True)]
    return {"ids": ids, "keys": keys, "slug": exercise.slug}


def path_value(name: str, schema: dict, world: dict) -> st.SearchStrategy:
    if name == "kind":
        known = st.sampled_from(["worked-example", "practice-problem"])
    elif name == "slug":
        known = st.just(world["slug"])
    elif name in world["ids"]:
        known = st.sampled_from(world["ids"][name])
    else:
        known = st.uuids().map(str)
    wild = st.one_of(hostile_text, huge_numbers, st.uuids().map(lambda u: u.hex))
    return st.one_of(known, known, known, known, wild)


def as_url_part(value: object) -> str:
    return quote(str(value).encode("utf-8", "surrogatepass"), safe="")


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=[f"{m} {p}" for m, p, _ in OPERATIONS])
def test_no_input_makes_a_server_error(method, path, operation, world, learner_client):
    keys = st.one_of(st.sampled_from(world["keys"]), st.sampled_from(world["keys"]), hostile_text)
    parameters = operation.get("parameters", [])
    path_parts = {p["name"]: path_value(p["name"], p["schema"], world) for p in parameters if p["in"] == "path"}
    query = st.fixed_dictionaries({}, optional={p["name"]: st.one_of(hostile_text, huge_numbers, keys)
                                                for p in parameters if p["in"] == "query"})
    body_schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    body = from_schema(body_schema, keys) if body_schema else st.none()

    @FUZZ
    @given(values=st.fixed_dictionaries(path_parts), params=query, payload=body)
    def check(values, params, payload):
        url = path
        for name, value in values.items():
            url = url.replace("{" + name + "}", as_url_part(value))
        if params:
            url += "?" + urlencode({k: str(v).encode("utf-8", "surrogatepass") for k, v in params.items()})
        if method == "GET":
            response = learner_client.get(url)
        else:
            response = learner_client.generic(method, url, json.dumps(payload), content_type="application/json")
        assert response.status_code < 500, (method, url, payload, response.content[:500])

    check()


def test_a_lone_surrogate_anywhere_in_a_body_is_a_422_naming_the_field(world, learner_client):
    """Found by the fuzz: a surrogate in the exercise's slug reached the database (500)."""
    response = learner_client.post("/api/submissions", json.dumps({"exercise": "\ud800", "code": "x = 1"}),
                                   content_type="application/json")
    assert response.status_code == 422
    assert "not valid Unicode" in response.json()["errors"]["exercise"]
    response = learner_client.post("/api/submissions", json.dumps({"exercise": "add", "code": "x", "\udc00": 1}),
                                   content_type="application/json")
    assert response.status_code == 422 and "A key in body" in response.json()["errors"]["body"]
