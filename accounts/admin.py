from django.contrib import admin

from accounts.models import ThrottleEvent


@admin.register(ThrottleEvent)
class ThrottleEventAdmin(admin.ModelAdmin):
    """Sign-ups being counted per address; delete an address's rows to let it sign up again at once.

    Failed log-ins and locks are django-axes' (Axes › Access attempts).
    """

    list_display = ("kind", "key", "at")
    list_filter = ("kind",)
    search_fields = ("key",)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
