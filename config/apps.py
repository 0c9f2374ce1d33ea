from django.apps import AppConfig


class PlatformConfig(AppConfig):
    name = "config"
    verbose_name = "Platform"

    def ready(self) -> None:
        # Before the first database connection copies psycopg's adapters.
        from config import pg_arrays

        pg_arrays.register()
        # Connects the receiver that counts setting up TOTP as passing the second factor.
        from config import staff_two_factor  # noqa: F401
