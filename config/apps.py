from django.apps import AppConfig


class PlatformConfig(AppConfig):
    name = "config"
    verbose_name = "Platform"
