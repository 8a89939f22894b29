"""manage.py lesson_example_3 — run the lesson's Worked Example 3 (patching an induction head) on the reference model.

Prints the clean and patched predictions, then the Markdown paragraph the lesson page shows for it, so the
page states what the model actually does. Rerun it after rebuilding ``induction-2l``.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from workers.lesson_examples import run_example_3


class Command(BaseCommand):
    help = "Runs the lesson's Example 3 (induction-head patching) on induction-2l and prints the result as Markdown."

    def handle(self, *args, **options) -> None:
        import torch

        torch.set_num_threads(1)
        result = run_example_3()
        self.stdout.write(f"induction heads (strongest first): {', '.join(f'L{l}.H{h}' for l, h in result.heads)}")
        self.stdout.write(f"clean:                      {result.clean}")
        self.stdout.write(f"strongest head patched:     {result.patched_strongest}")
        self.stdout.write(f"all induction heads patched: {result.patched_all}")
        self.stdout.write(f"same, from an equivalent input: {result.patched_equivalent}")
        self.stdout.write("\n" + result.markdown())
