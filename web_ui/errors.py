"""Every error answer is JSON naming what was wrong: {"error": message, "field": name or null}."""

from __future__ import annotations

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException


def json_error(status: int, message: str, field: str | None = None, **extra: object) -> Response:
    response = jsonify({"error": message, "field": field, **extra})
    response.status_code = status
    return response


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if exc.response is not None:  # abort(json_error(...)) already made the answer
            return exc.response
        field = "body" if exc.code == 413 else None
        return json_error(exc.code or 500, exc.description or exc.name, field)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        app.logger.exception("unexpected error")
        return json_error(500, "internal error: see the service log")
