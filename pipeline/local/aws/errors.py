"""AWS-shaped errors: the gateway raises these and the server renders them in each protocol."""

from __future__ import annotations

ACCOUNT_ID = "000000000000"
REGION = "us-east-1"


class AwsError(Exception):
    """An error AWS would return: its type (the `__type` code), message and HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400, hint: str = "") -> None:
        super().__init__(f"{code}: {message or hint}")
        self.code = code
        self.message = message  # "" when AWS answers the type alone
        self.status = status
        self.hint = hint  # the gateway's own explanation: a header, never AWS's body


def validation(message: str) -> AwsError:
    return AwsError("ValidationException", message)


def serialization(message: str = "Start of structure or map found where not expected.") -> AwsError:
    return AwsError("SerializationException", message)


def unknown_operation(target: str) -> AwsError:
    return AwsError("UnknownOperationException", f"Operation {target} is not supported.")


class EngineUnavailable(Exception):
    """An engine process is not answering; the message says what to do."""
