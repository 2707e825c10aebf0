from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    name = "conversations"
    verbose_name = "Conversations"

    def ready(self) -> None:
        # Runs after the admin's autodiscovery (django.contrib.admin comes
        # first in INSTALLED_APPS), so the tool-call audit admin of issue #7
        # can replace a plainer registration wherever admin.py made it.
        from conversations import admin_tools

        admin_tools.register()
