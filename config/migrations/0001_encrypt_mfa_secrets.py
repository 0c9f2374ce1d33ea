"""Two-factor secrets stored in clear before they were encrypted at rest are encrypted now."""

from django.conf import settings
from django.db import migrations

from config import mfa_secrets


def encrypt_clear_secrets(apps, schema_editor):
    Authenticator = apps.get_model("mfa", "Authenticator")
    fernet = mfa_secrets.keys(settings.MFA_ENCRYPTION_KEYS)

    def encrypted(value):
        return value if mfa_secrets.looks_encrypted(value) else fernet.encrypt(value.encode()).decode()

    for authenticator in Authenticator.objects.filter(type__in=list(mfa_secrets.SECRET_FIELDS)):
        authenticator.data = mfa_secrets.transform_secrets(authenticator.data, authenticator.type, encrypted)
        authenticator.save(update_fields=["data"])


def decrypt_secrets(apps, schema_editor):
    Authenticator = apps.get_model("mfa", "Authenticator")
    fernet = mfa_secrets.keys(settings.MFA_ENCRYPTION_KEYS)

    def clear(value):
        return fernet.decrypt(value.encode()).decode() if mfa_secrets.looks_encrypted(value) else value

    for authenticator in Authenticator.objects.filter(type__in=list(mfa_secrets.SECRET_FIELDS)):
        authenticator.data = mfa_secrets.transform_secrets(authenticator.data, authenticator.type, clear)
        authenticator.save(update_fields=["data"])


class Migration(migrations.Migration):
    dependencies = [("mfa", "0003_authenticator_type_uniq")]
    operations = [migrations.RunPython(encrypt_clear_secrets, decrypt_secrets)]
