"""Upstream error messages reach the caller: never with a provider key in them."""

from __future__ import annotations

import orjson

from doorman.upstream.dispatch import _upstream_message


def said(message: str, *secrets: str | None) -> str:
    return _upstream_message(orjson.dumps({"error": {"message": message}}), secrets)


def test_the_keys_sent_and_current_are_redacted_even_without_a_known_prefix() -> None:
    key = "abcd1234deadbeefcafebabe00112233"  # an Azure-style hex key
    assert said(f"Invalid key {key} given", "old-key-value", key) == "Invalid key [redacted] given"
    assert "sk-live" not in said("Incorrect API key provided: Bearer sk-live-0123456789abcd.")


def test_a_key_at_the_cut_is_redacted_before_the_message_is_shortened() -> None:
    key = "abcd1234efgh5678"
    out = said("x" * 495 + f" key={key}", key)
    assert len(out) <= 500 and "abcd1" not in out


def test_ordinary_identifiers_are_left_alone() -> None:
    text = "unknown parameter api_version_override and key_management"
    assert said(text) == text


def test_non_json_bodies_are_scrubbed_too() -> None:
    out = _upstream_message(b"<html>bad key sk-proj-Ab3dEfGhIjKlMnOp</html>", ())
    assert "Ab3dEf" not in out and "redacted" in out.lower()


def test_typed_secrets_the_prompt_screen_knows_are_redacted_too() -> None:
    aws, github = "AKIAIOSFODNN7EXAMPLE", "ghp_" + "a1B2c3D4e5" * 4
    out = said(f"echo of your input: {aws} and {github}")
    assert aws not in out and github not in out
    assert "[REDACTED_AWS_ACCESS_KEY]" in out and "[REDACTED_GITHUB_TOKEN]" in out
