"""The API answers in English unless the request asks for Chinese; pages keep Chinese first."""

from __future__ import annotations

import pytest
from django.test import Client

METRO = {"person": "C-1001", "behaviour": "green_travel_metro", "quantity": "5", "occurred_on": "2026-05-03"}


@pytest.mark.parametrize(
    ("accept_language", "message"),
    [
        (None, "This field is not known."),
        ("en-GB,en;q=0.9", "This field is not known."),
        ("zh-CN,zh;q=0.9", "未知字段。"),
        ("zh-hans", "未知字段。"),
        ("fr-FR", "This field is not known."),
    ],
)
def test_api_messages_follow_accept_language_and_default_to_english(
    line_key, accept_language, message
) -> None:  # type: ignore[no-untyped-def]
    headers = {"idempotency-key": "k"}
    if accept_language:
        headers["accept-language"] = accept_language
    response = line_key("bank").post(
        "/api/v1/lines/bank/records", {**METRO, "colour": "green"}, headers=headers
    )
    assert response.status_code == 400
    assert response.json()["fields"] == {"colour": [message]}


def test_the_language_cookie_of_the_pages_does_not_turn_the_api_chinese(line_key) -> None:  # type: ignore[no-untyped-def]
    bank = line_key("bank")
    bank.client.cookies["django_language"] = "zh-hans"
    response = bank.post(
        "/api/v1/lines/bank/records", {**METRO, "colour": "green"}, headers={"idempotency-key": "k"}
    )
    assert response.json()["fields"] == {"colour": ["This field is not known."]}
    assert response["Content-Language"] == "en"


@pytest.mark.django_db
def test_refusals_written_before_the_view_follow_the_same_rule(settings) -> None:  # type: ignore[no-untyped-def]
    settings.API_MAX_BODY_BYTES = 10
    client = Client()
    english = client.post(
        "/api/v1/lines/bank/records", "x" * 11, content_type="application/json", secure=True
    )
    chinese = client.post(
        "/api/v1/lines/bank/records",
        "x" * 11,
        content_type="application/json",
        secure=True,
        headers={"accept-language": "zh-CN"},
    )
    assert english.json()["message"].startswith("The body is 11 bytes")
    assert chinese.json()["message"].startswith("请求体为 11 字节")
    assert (
        client.get("/api/v1/nothing-here", secure=True).json()["message"] == "There is no such API operation."
    )
