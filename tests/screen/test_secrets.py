"""Secrets and personal data: typed placeholders, Luhn-checked cards, values never logged."""

from __future__ import annotations

import json

import pytest
from screenkit import user

from doorman.screen import InputScreener
from doorman.screen.secrets import luhn_valid, redact, scan

OPENAI_KEY = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0" * 2
ANTHROPIC_KEY = "sk-ant-api03-" + "x9Y8z7W6v5U4t3S2r1Q0" * 4
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
GITHUB_TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
PRIVATE_KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7Vx\n-----END RSA PRIVATE KEY-----"
CARD = "4111 1111 1111 1111"


def test_luhn() -> None:
    assert luhn_valid("4111111111111111")
    assert luhn_valid("378282246310005")
    assert not luhn_valid("4111111111111112")
    assert not luhn_valid("12345")


@pytest.mark.parametrize(
    ("value", "placeholder"),
    [
        (OPENAI_KEY, "[REDACTED_OPENAI_KEY]"),
        (ANTHROPIC_KEY, "[REDACTED_ANTHROPIC_KEY]"),
        (AWS_KEY, "[REDACTED_AWS_ACCESS_KEY]"),
        (GITHUB_TOKEN, "[REDACTED_GITHUB_TOKEN]"),
        (PRIVATE_KEY, "[REDACTED_PRIVATE_KEY]"),
    ],
)
def test_secrets_are_redacted_by_default(
    screener: InputScreener, value: str, placeholder: str
) -> None:
    body = user(f"Why does this not work? {value} thanks")
    verdict = screener.screen_chat(body, "openai")
    assert not verdict.blocked
    forwarded = verdict.body["messages"][0]["content"]
    assert placeholder in forwarded and value not in forwarded
    assert value in body["messages"][0]["content"], "the caller's body must not be mutated"
    assert "secret_redacted" in verdict.flags
    assert value not in json.dumps(verdict.log_fields())


def test_credit_cards_need_a_valid_checksum() -> None:
    kinds = {"credit_card"}
    assert [f.kind for f in scan(f"card {CARD} exp 12/29", kinds)] == ["credit_card"]
    assert scan("order 4111 1111 1111 1112 shipped", kinds) == []
    assert scan("timestamp 1700000000000000", kinds) == []


def test_pii_is_flagged_by_default_and_redacted_on_request(screener: InputScreener) -> None:
    text = f"Mail jane.doe@example.com or call +1 (415) 555-0132, card {CARD}."
    flagged = screener.screen_chat(user(text), "openai")
    assert flagged.flags == ["pii_detected"]
    assert flagged.body["messages"][0]["content"] == text
    redacted = screener.screen_chat(user(text), "openai", {"pii": {"action": "redact"}})
    assert redacted.body["messages"][0]["content"] == (
        "Mail [REDACTED_EMAIL] or call [REDACTED_PHONE], card [REDACTED_CREDIT_CARD]."
    )
    assert sorted(redacted.findings[0].kinds) == ["credit_card", "email", "phone"]


def test_block_policy_for_secrets(screener: InputScreener) -> None:
    verdict = screener.screen_chat(
        user(f"my key is {OPENAI_KEY}"), "openai", {"secrets": {"action": "block"}}
    )
    assert verdict.blocked and verdict.error is not None
    assert verdict.error.code == "sensitive_data_detected"
    assert OPENAI_KEY not in verdict.error.message


def test_untouched_body_is_the_same_object(screener: InputScreener) -> None:
    body = user("Nothing secret here, just a question about tides.")
    assert screener.screen_chat(body, "openai").body is body


def test_redaction_copies_only_what_changes(screener: InputScreener) -> None:
    body = {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": f"key {AWS_KEY}"},
                    {"type": "text", "text": "plain"},
                ],
            },
        ]
    }
    out = screener.screen_chat(body, "openai").body
    assert out is not body
    assert out["messages"][0] is body["messages"][0]
    assert out["messages"][1]["content"][0]["text"] == "key [REDACTED_AWS_ACCESS_KEY]"
    assert out["messages"][1]["content"][1] is body["messages"][1]["content"][1]
    assert body["messages"][1]["content"][0]["text"] == f"key {AWS_KEY}"


def test_phone_numbers_and_dates_are_told_apart() -> None:
    kinds = {"phone"}
    assert [f.kind for f in scan("call 020 7946 0958 today", kinds)] == ["phone"]
    assert scan("released on 2024-05-01 as v1.2.3", kinds) == []


def test_redact_helper_keeps_surrounding_text() -> None:
    text = "a jane@x.io b"
    assert redact(text, scan(text, {"email"})) == "a [REDACTED_EMAIL] b"
