from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("grader", "0002_submissions")]

    operations = [
        migrations.AddField(
            model_name="submission",
            name="seed",
            field=models.BigIntegerField(
                blank=True,
                help_text="The grading's master seed (random state of the runs, hidden models' reparameterisations): "
                "grade_file --seed reproduces the grading.",
                null=True,
            ),
        ),
    ]
