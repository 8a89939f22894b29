from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _instructors_group(sender: AppConfig, **kwargs) -> None:
    # Permissions of an app exist only once auth's own post_migrate handler ran for it.
    from accounts.services import AUTHORING_APPS, ensure_instructors_group

    if sender.label in AUTHORING_APPS:
        ensure_instructors_group()


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        post_migrate.connect(_instructors_group, dispatch_uid="accounts.instructors_group")
