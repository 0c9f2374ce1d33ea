"""How the API's authentication appears in the OpenAPI schema."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class CredentialScheme(OpenApiAuthenticationExtension):
    target_class = "config.api.CredentialAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A business-line system key or a personal token: `Authorization: Bearer cak_...`.",
        }


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "config.api.SessionAuthenticationWith401"
    name = "session"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}
