"""Reading a JSON request body strictly: one object, no NaN or Infinity, bounded nesting."""

from __future__ import annotations

import json

from flask import abort, request

from web_ui.errors import json_error


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number")


def json_body() -> dict:
    """The request's JSON object, or a 4xx answer naming the body as the bad field."""
    if not request.is_json:
        abort(json_error(415, "send a JSON object with Content-Type: application/json", "body"))
    try:
        body = json.loads(request.get_data(), parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        message = str(exc) if isinstance(exc, ValueError) else "nested too deeply"
        abort(json_error(400, f"the body is not valid JSON: {message}", "body"))
    if not isinstance(body, dict):
        abort(json_error(400, "the body must be a JSON object", "body"))
    return body
