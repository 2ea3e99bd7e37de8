from django.apps import AppConfig


class LifecycleAppConfig(AppConfig):
    """A minimal document used only by the core lifecycle tests."""

    name = "tests.lifecycle_app"
    label = "lifecycle_app"
