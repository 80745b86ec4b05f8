"""Every error answer is JSON naming what was wrong: {"error": message, "field": name or null},
the app's and those the server (waitress) gives before the app sees a request (a body over the
server's limit, a malformed request line)."""

from __future__ import annotations

import sqlite3

from flask import Flask, Response, jsonify
from waitress.channel import HTTPChannel
from waitress.task import ErrorTask
from werkzeug.exceptions import HTTPException

from device import jsonout


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

    @app.errorhandler(sqlite3.OperationalError)
    def _history_unavailable(exc: sqlite3.OperationalError):
        # The disk is full, read-only or failing (health says so): not a bug of the request.
        return json_error(503, f"the history cannot be read now ({exc}): see /api/health")

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        app.logger.exception("unexpected error")
        return json_error(500, "internal error: see the service log")


class JsonErrorTask(ErrorTask):
    """waitress's own error answers, as JSON."""

    def execute(self) -> None:
        error = self.request.error
        body = jsonout.dumps(
            {
                "error": f"{error.reason}: {error.body}",
                "field": "body" if error.code == 413 else None,
            }
        ).encode()
        self.status = f"{error.code} {error.reason}"
        self.response_headers.append(("Content-Type", "application/json"))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class JsonErrorChannel(HTTPChannel):
    """A waitress connection whose server-made error answers are JSON (server.channel_class)."""

    error_task_class = JsonErrorTask
