"""The failures the simulated sevDesk answers with; the API layer renders them in sevDesk's
error shape ``{"error": {"message": ..., "code": null, "data": null}}``.

Messages stay in English and untranslated: they are sevDesk's words on the wire, which the
exporter shows to the user as they are ("... Authentication required").
"""


class SevdeskApiError(Exception):
    status = 400

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class BadRequest(SevdeskApiError):
    """Malformed request: missing or mistyped fields, a rule of the resource broken."""

    status = 400


class ValidationFailed(SevdeskApiError):
    """Well-formed, but refers to things sevDesk does not allow (sevDesk answers 422)."""

    status = 422


class NotFound(SevdeskApiError):
    status = 404


class AuthenticationRequired(SevdeskApiError):
    status = 401

    def __init__(self) -> None:
        super().__init__("Authentication required")
