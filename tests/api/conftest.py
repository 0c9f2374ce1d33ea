from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from carbon_accounts import credentials
from carbon_accounts.models import BusinessLine


class ApiClient:
    """Django's test client with an API key and JSON by default."""

    def __init__(self, key: str | None = None, client: Client | None = None) -> None:
        self.client = client or Client()
        self.key = key

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        merged = {"authorization": f"Bearer {self.key}"} if self.key else {}
        merged.update(headers or {})
        return merged

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(path, params, secure=True, headers=self._headers(None))

    def post(
        self,
        path: str,
        body: Any = None,
        *,
        raw: bytes | str | None = None,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> Any:
        import json

        data = raw if raw is not None else json.dumps(body)
        return self.client.generic(
            "POST", path, data, content_type=content_type, secure=True, headers=self._headers(headers)
        )


@pytest.fixture
def line_key(reference: dict[str, BusinessLine]) -> Callable[[str], ApiClient]:
    def make(line: str = "bank", **options: Any) -> ApiClient:
        _credential, key = credentials.issue(name=f"{line} system", line=reference[line], **options)
        return ApiClient(key)

    return make
