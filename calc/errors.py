"""The one error type of the core: a code, the request field it concerns, and a message."""


class CalcError(ValueError):
    """A problem with the input, reported to the caller as data.

    ``code`` is stable (tests and the page key on it), ``field`` names the request or config.json
    field at fault (dotted for nested ones), ``message`` is an English sentence for people.
    """

    def __init__(self, code: str, field: str | None, message: str):
        super().__init__(message)
        self.code = code
        self.field = field
        self.message = message

    def as_dict(self) -> dict:
        return {"code": self.code, "field": self.field, "message": self.message}
