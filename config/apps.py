from django.apps import AppConfig


class PlatformConfig(AppConfig):
    name = "config"
    verbose_name = "Platform"

    def ready(self) -> None:
        # Before the first database connection copies psycopg's adapters.
        from config import pg_arrays

        pg_arrays.register()
