"""The catalog, the lesson page (whole, in order, math rendered, answers hidden), reveals and figures."""

import re

import pytest
from django.urls import reverse

from courses.models import Choice, Lesson
from courses.rendering import render_markdown, render_markdown_inline
from tests.courses.test_rendering import visible_text

SECTION_ORDER = [
    "objectives", "core-content", "key-terms", "worked-examples", "practice-problems",
    "quiz", "pitfalls", "summary", "next-steps",
]
FORMULA = re.compile(r"\$\$.+?\$\$|\$.+?\$", re.S)


@pytest.fixture
def page(client, lesson) -> str:
    response = client.get(reverse("courses:lesson", kwargs={"code": "25-01"}))
    assert response.status_code == 200
    return response.content.decode()


def shown_markdown(lesson: Lesson) -> list[str]:
    """Every Markdown text the lesson page shows (hidden answers excluded)."""
    texts = [lesson.prerequisites, lesson.summary, lesson.next_steps]
    texts += [o.text for o in lesson.objectives.all()]
    texts += [b.body for b in lesson.core_blocks.all()]
    texts += [t.definition for t in lesson.key_terms.all()]
    for example in lesson.worked_examples.all():
        texts.append(example.statement)
        if example.grading == "choice":
            texts += [example.question.prompt] + [c.text for c in example.question.choices.all()]
    texts += [p.statement for p in lesson.practice_problems.all()]
    for question in lesson.quiz.questions.all():
        texts += [question.prompt] + [c.text for c in question.choices.all()]
    texts += [p.body for p in lesson.pitfalls.all()]
    return texts


def hidden_markdown(lesson: Lesson) -> list[str]:
    items = [*lesson.worked_examples.all(), *lesson.practice_problems.all()]
    texts = [text for item in items for text in (item.solution, item.answer) if text]
    texts += [p.text for problem in lesson.practice_problems.all() for p in problem.rubric.all()]
    return texts + [c.explanation for c in Choice.objects.filter(question__in=_questions(lesson))]


def _questions(lesson):
    return [*lesson.quiz.questions.all(), *(e.question for e in lesson.worked_examples.filter(grading="choice"))]


def test_every_section_is_shown_in_order_with_a_table_of_contents(page):
    assert re.findall(r'<section id="([a-z-]+)" class="lesson-section"', page) == SECTION_ORDER
    toc = page.split('<nav class="toc"')[1].split("</nav>")[0]
    links = re.findall(r'<a href="#([a-z-]+)">', toc)
    assert [link for link in links if link in SECTION_ORDER] == SECTION_ORDER
    assert links[1:9] == [
        "core-content",
        "core-what-is-mechanistic-interpretability", "core-features-and-directions", "core-the-superposition-hypothesis",
        "core-circuits", "core-universality-hypothesis", "core-causal-scrubbing",
        "key-terms",
    ], "core content lists its parts (not the callout) under its own entry"
    for anchor in links:
        assert f'id="{anchor}"' in page


def test_the_page_shows_all_items(page, lesson):
    for n in range(1, 4):
        assert f'id="example-{n}"' in page
    for n in range(1, 6):
        assert f'id="problem-{n}"' in page
    for n in range(1, 7):
        assert f'id="quiz-question-{n}"' in page
    assert page.count('class="pitfall-title"') == 5
    assert "a sentence with positive sentiment" in page, "Example 1's restored vectors"
    assert "Phase 18–19 (LLM Math), Phase 14 (Optimization)" in page


def test_every_formula_in_the_source_is_rendered_as_math(page, lesson):
    formulas = sum(len(FORMULA.findall(text)) for text in shown_markdown(lesson))
    assert formulas > 50
    assert page.count("<math ") == formulas
    assert page.count('display="block"') == sum(text.count("$$") // 2 for text in shown_markdown(lesson))


def test_no_raw_latex_is_visible(page):
    text = visible_text(page.split("<main")[1])
    assert "$" not in text
    assert "\\" not in text


def test_key_terms_have_anchors(page):
    for anchor in ["feature", "superposition", "polysemantic-neuron", "monosemantic-neuron", "circuit",
                   "induction-head", "universality", "causal-scrubbing", "linear-probe", "residual-stream",
                   "linear-representation-hypothesis"]:
        assert f'<dt id="term-{anchor}"><a class="anchor" href="#term-{anchor}">' in page


def test_hidden_answers_are_absent_from_the_lesson_page(page, lesson):
    hidden = hidden_markdown(lesson)
    assert len(hidden) > 40
    for text in hidden:
        assert str(render_markdown(text)).strip() not in page
    assert "Correct." not in page and "is_correct" not in page
    assert "1.738" not in page, "Example 1's solution"
    assert "Feature direction:" not in page, "Example 1's answer"


@pytest.mark.parametrize("fragment", [True, False], ids=["fetched by the page", "without JavaScript"])
def test_revealing_an_ungraded_example_shows_its_solution_and_answer(client, lesson, fragment):
    example = lesson.worked_examples.get(grading="none")
    url = reverse("courses:reveal", kwargs={"code": "25-01", "kind": "worked-examples", "pk": example.pk})
    assert f'href="{url}"' in client.get(lesson.get_absolute_url()).content.decode()
    headers = {"X-Requested-With": "fetch"} if fragment else {}
    html = client.get(url, headers=headers).content.decode()
    assert str(render_markdown(example.solution)) in html
    assert str(render_markdown(example.answer)) in html
    assert ("<html" in html) is not fragment
    assert ("Back to 25-01" in html) is not fragment


def test_revealing_an_ungraded_problem_shows_reference_answer_and_rubric(client, lesson):
    problem = lesson.practice_problems.get(title="Evidence for a circuit")
    problem.grading = "none"
    problem.save()
    url = reverse("courses:reveal", kwargs={"code": "25-01", "kind": "practice-problems", "pk": problem.pk})
    html = client.get(url, headers={"X-Requested-With": "fetch"}).content.decode()
    assert str(render_markdown(problem.answer)) in html
    for point in problem.rubric.all():
        assert str(render_markdown_inline(point.text)) in html


def test_graded_items_cannot_be_revealed_by_url(client, lesson):
    """Their answers come with the grader's answer panel, after an attempt."""
    for kind, items in [("worked-examples", lesson.worked_examples), ("practice-problems", lesson.practice_problems)]:
        for item in items.exclude(grading="none"):
            url = reverse("courses:reveal", kwargs={"code": "25-01", "kind": kind, "pk": item.pk})
            assert client.get(url).status_code == 404


def test_reveal_only_serves_items_of_that_lesson(client, lesson):
    example = lesson.worked_examples.get(grading="none")
    wrong_kind = reverse("courses:reveal", kwargs={"code": "25-01", "kind": "practice-problems", "pk": example.pk})
    assert client.get(wrong_kind).status_code == 404
    other_lesson = reverse("courses:reveal", kwargs={"code": "25-02", "kind": "worked-examples", "pk": example.pk})
    assert client.get(other_lesson).status_code == 404
    unknown = reverse("courses:reveal", kwargs={"code": "25-01", "kind": "quiz", "pk": 1})
    assert client.get(unknown).status_code == 404


def test_the_concept_diagram_is_embedded_and_served(client, page):
    assert '<img src="/figures/superposition-pentagon.svg" alt="Five arrows of equal length' in page
    assert "<figcaption>Five features in two dimensions." in page
    response = client.get("/figures/superposition-pentagon.svg")
    assert response["Content-Type"].startswith("image/svg+xml")
    svg = response.content.decode()
    assert svg.count("<line x1=\"0\" y1=\"0\"") == 5 and "<title" in svg
    assert client.get("/figures/nope.svg").status_code == 404


def test_catalog_shows_phase_and_lessons_with_their_status(client, lesson):
    html = client.get(reverse("courses:catalog")).content.decode()
    assert "Phase 25 — Frontiers &amp; Active Research Areas" in html
    assert '<a class="lesson-title" href="/lessons/25-01/">Mechanistic Interpretability</a>' in html
    assert '<span class="lesson-title">Sparse Autoencoders (SAEs)</span> <span class="badge">Upcoming</span>' in html


def test_next_lesson_is_shown_as_upcoming(page):
    pager = page.split('class="lesson-pager"')[1]
    assert "25-02 — Sparse Autoencoders (SAEs)</span> <span class=\"badge\">Upcoming</span>" in pager
    assert 'href="/lessons/25-02/"' not in page


def test_upcoming_lessons_are_listed_but_open_only_to_staff(client, admin_client, lesson):
    assert client.get("/lessons/25-02/").status_code == 404
    assert "This lesson is upcoming" in admin_client.get("/lessons/25-02/").content.decode()


def test_drafts_are_for_staff_only(client, admin_client, lesson):
    Lesson.objects.filter(pk=lesson.pk).update(status=Lesson.Status.DRAFT)
    assert client.get(lesson.get_absolute_url()).status_code == 404
    assert "25-01" not in client.get(reverse("courses:catalog")).content.decode()
    assert admin_client.get(lesson.get_absolute_url()).status_code == 200


def test_lesson_page_query_count_does_not_grow_with_content(client, lesson, django_assert_max_num_queries):
    with django_assert_max_num_queries(16):
        client.get(lesson.get_absolute_url())
