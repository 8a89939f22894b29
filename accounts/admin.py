from django.contrib import admin

from accounts.models import ThrottleEvent


@admin.register(ThrottleEvent)
class ThrottleEventAdmin(admin.ModelAdmin):
    """Failed log-ins and sign-ups being counted; delete an account's or address's rows to lift its lock."""

    list_display = ("kind", "key", "at")
    list_filter = ("kind",)
    search_fields = ("key",)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
