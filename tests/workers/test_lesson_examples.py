"""The lesson's Example 3 run on the reference model: patching the induction heads moves the prediction to "ran"."""

from django.core.management import call_command

from workers.lesson_examples import run_example_3


def test_patching_the_induction_heads_with_the_dog_sentence_makes_the_model_say_ran():
    result = run_example_3()
    assert result.clean.top == "sat"
    assert result.patched_strongest.p_ran > 3 * result.clean.p_ran  # one head already moves it towards "ran"
    assert result.patched_all.top == "ran"
    assert result.patched_equivalent.top == "sat"  # "A cat sat in the park. The cat": what the head reads is kept
    assert 'the claim that "sat" survives is wrong' in result.markdown()


def test_the_command_prints_the_measurements_and_the_paragraph(capsys):
    call_command("lesson_example_3")
    out = capsys.readouterr().out
    assert 'all induction heads patched: "ran"' in out
    assert "**What the reference model actually does**" in out
