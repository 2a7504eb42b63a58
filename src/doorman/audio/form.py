"""The multipart form of ``POST /v1/audio/transcriptions`` (OpenAI's format), parsed and checked.

Parsed with Starlette's multipart parser (python-multipart underneath) from the body already
read under the upload cap: one file, a handful of small fields, nothing else. Unknown fields
are refused rather than dropped, so a typo never changes what is sent silently.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass, field
from typing import Literal

from starlette.datastructures import Headers, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from doorman.errors import BadRequest, UnsupportedMediaType

ResponseFormat = Literal["json", "text", "verbose_json"]
RESPONSE_FORMATS: tuple[str, ...] = ("json", "text", "verbose_json")

_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")
_FIELD_BYTES = 16 * 1024  # every non-file field is small
_PROMPT_CHARS = 4000
_FIELDS = frozenset(
    {"file", "model", "language", "prompt", "response_format", "temperature",
     "timestamp_granularities[]"}
)  # fmt: skip


@dataclass(slots=True)
class TranscriptionForm:
    file: bytes
    filename: str
    model: str
    language: str | None = None
    prompt: str | None = None
    response_format: ResponseFormat = "json"
    temperature: float | None = None
    timestamp_granularities: list[str] = field(default_factory=list)


async def parse_form(raw: bytes, headers: Mapping[str, str]) -> TranscriptionForm:
    """Parse and check the form, or raise a 4xx naming the field at fault."""
    ctype = headers.get("content-type", "")
    if not ctype.lower().startswith("multipart/form-data"):
        raise UnsupportedMediaType(
            "Send the audio as multipart/form-data (fields 'file' and 'model').",
            code="unsupported_media_type",
        )

    async def body() -> AsyncGenerator[bytes, None]:
        yield raw

    parser = MultiPartParser(
        Headers({"content-type": ctype}),
        body(),
        max_files=1,
        max_fields=len(_FIELDS) + 4,
        max_part_size=_FIELD_BYTES,
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise BadRequest(f"The multipart body is invalid: {exc}", code="invalid_multipart") from None
    try:
        return _check(form.multi_items())
    finally:
        await form.close()


def _check(items: list[tuple[str, str | UploadFile]]) -> TranscriptionForm:
    values: dict[str, list[str | UploadFile]] = {}
    for name, value in items:
        if name not in _FIELDS:
            raise BadRequest(f"Unknown form field '{name[:64]}'.", code="unknown_field", param=name[:64])
        values.setdefault(name, []).append(value)
    upload = _one(values, "file")
    if not isinstance(upload, UploadFile):
        raise BadRequest("The field 'file' must be a file upload.", code="missing_file", param="file")
    upload.file.seek(0)
    data = upload.file.read()
    model = _text(values, "model")
    if not model:
        raise BadRequest("The field 'model' is required.", code="missing_model", param="model")
    language = _text(values, "language")
    if language is not None and not (2 <= len(language) <= 8 and language.replace("-", "").isalpha()):
        raise BadRequest(
            "The field 'language' must be an ISO-639-1 code such as 'en'.",
            code="invalid_language", param="language",
        )  # fmt: skip
    prompt = _text(values, "prompt")
    if prompt is not None and len(prompt) > _PROMPT_CHARS:
        raise BadRequest(
            f"The field 'prompt' has {len(prompt)} characters; at most {_PROMPT_CHARS} are allowed.",
            code="prompt_too_long", param="prompt",
        )  # fmt: skip
    fmt = _text(values, "response_format") or "json"
    if fmt not in RESPONSE_FORMATS:
        raise BadRequest(
            f"response_format '{fmt[:32]}' is not supported; use json, text or verbose_json.",
            code="unsupported_response_format", param="response_format",
        )  # fmt: skip
    temperature: float | None = None
    raw_temp = _text(values, "temperature")
    if raw_temp is not None:
        try:
            temperature = float(raw_temp)
        except ValueError:
            temperature = -1.0
        if not 0.0 <= temperature <= 1.0:
            raise BadRequest(
                "The field 'temperature' must be a number between 0 and 1.",
                code="invalid_temperature", param="temperature",
            )  # fmt: skip
    granularities = [str(v) for v in values.get("timestamp_granularities[]", [])]
    for g in granularities:
        if g not in ("word", "segment"):
            raise BadRequest(
                "timestamp_granularities[] takes 'word' or 'segment'.",
                code="invalid_timestamp_granularities", param="timestamp_granularities[]",
            )  # fmt: skip
    return TranscriptionForm(
        file=data,
        filename=(upload.filename or "audio")[:128],
        model=model,
        language=language,
        prompt=prompt,
        response_format=fmt,  # type: ignore[arg-type]
        temperature=temperature,
        timestamp_granularities=granularities,
    )


def _one(values: dict[str, list[str | UploadFile]], name: str) -> str | UploadFile | None:
    got = values.get(name)
    if not got:
        if name == "file":
            raise BadRequest("The field 'file' is required.", code="missing_file", param="file")
        return None
    if len(got) > 1:
        raise BadRequest(f"The field '{name}' is given more than once.", code="duplicate_field", param=name)
    return got[0]


def _text(values: dict[str, list[str | UploadFile]], name: str) -> str | None:
    value = _one(values, name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(f"The field '{name}' must be text, not a file.", code="invalid_field", param=name)
    value = value.strip()
    return value or None


def encode_form(
    fields: list[tuple[str, str]],
    *,
    file: bytes,
    filename: str,
    file_type: str,
    boundary: str,
) -> bytes:
    """A multipart/form-data body: the text ``fields``, then the file (what providers and this
    endpoint expect). Names and the filename are ours or sanitised, never raw caller input."""
    parts: list[bytes] = []
    for name, value in fields:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode("utf-8")
            + b"\r\n"
        )
    safe = _UNSAFE_NAME.sub("_", filename)[:128] or "audio"
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="{safe}"\r\nContent-Type: {file_type}\r\n\r\n'.encode()
        + file
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts)


def form_fields(form: TranscriptionForm, model: str) -> list[tuple[str, str]]:
    """The form's text fields in wire order, with ``model`` as given."""
    fields: list[tuple[str, str]] = [("model", model), ("response_format", form.response_format)]
    if form.language:
        fields.append(("language", form.language))
    if form.prompt:
        fields.append(("prompt", form.prompt))
    if form.temperature is not None:
        fields.append(("temperature", f"{form.temperature:g}"))
    fields += [("timestamp_granularities[]", g) for g in form.timestamp_granularities]
    return fields
