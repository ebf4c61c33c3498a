"""The registry's errors: Confluent Schema Registry's error codes, HTTP statuses and texts.

Every failure the API reports is a ``RegistryError``: an HTTP status, a
five-digit ``error_code`` whose first three digits are the status (40401 is
a 404 about a subject), and a message. The app turns one into Confluent's
error body ``{"error_code": 40401, "message": "Subject 'x' not found."}``.
Clients branch on the code, so the codes and texts here are Confluent's:

    40401 subject not found            40406 version soft deleted
    40402 version not found            40407 version not soft deleted first
    40403 schema (id) not found        40408 no subject-level compatibility
    40404 subject soft deleted         40409 no subject-level mode
    40405 subject not soft deleted first
    409 / 40901 incompatible schema    42201 invalid schema
    42202 invalid version              42203 invalid compatibility level
    42204 invalid mode                 42205 operation not permitted (mode)
    42206 references exist             42207 imported id does not match
    50001 store error                  50002 operation timed out
    50003 forwarding to the leader failed
    50004 unknown leader

HTTP-level problems (bad JSON, wrong content type, a body over the size
limit) use the bare status as their code (400, 415, 413), as Confluent's
REST layer does.
"""

from __future__ import annotations

SUBJECT_NOT_FOUND = 40401
VERSION_NOT_FOUND = 40402
SCHEMA_NOT_FOUND = 40403
SUBJECT_SOFT_DELETED = 40404
SUBJECT_NOT_SOFT_DELETED = 40405
VERSION_SOFT_DELETED = 40406
VERSION_NOT_SOFT_DELETED = 40407
SUBJECT_COMPATIBILITY_NOT_CONFIGURED = 40408
SUBJECT_MODE_NOT_CONFIGURED = 40409
INCOMPATIBLE_SCHEMA = 40901
INVALID_SCHEMA = 42201
INVALID_VERSION = 42202
INVALID_COMPATIBILITY_LEVEL = 42203
INVALID_MODE = 42204
OPERATION_NOT_PERMITTED = 42205
REFERENCE_EXISTS = 42206
ID_DOES_NOT_MATCH = 42207
STORE_ERROR = 50001
OPERATION_TIMEOUT = 50002
REQUEST_FORWARDING_FAILED = 50003
UNKNOWN_LEADER = 50004


class RegistryError(Exception):
    """A refused request: the HTTP status, Confluent's error code and message."""

    def __init__(self, http_status: int, error_code: int, message: str) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.error_code = error_code
        self.message = message

    def to_json(self) -> dict:
        """Confluent's error body."""
        return {"error_code": self.error_code, "message": self.message}

    def __repr__(self) -> str:
        return f"RegistryError({self.http_status}, {self.error_code}, {self.message!r})"


def subject_not_found(subject: str) -> RegistryError:
    return RegistryError(404, SUBJECT_NOT_FOUND, f"Subject '{subject}' not found.")


def version_not_found(version: object) -> RegistryError:
    return RegistryError(404, VERSION_NOT_FOUND, f"Version {version} not found.")


def schema_not_found(schema_id: int | None = None) -> RegistryError:
    message = "Schema not found" if schema_id is None else f"Schema {schema_id} not found"
    return RegistryError(404, SCHEMA_NOT_FOUND, message)


def subject_soft_deleted(subject: str) -> RegistryError:
    return RegistryError(404, SUBJECT_SOFT_DELETED,
                         f"Subject '{subject}' was soft deleted.Set permanent=true to delete permanently")


def subject_not_soft_deleted(subject: str) -> RegistryError:
    return RegistryError(404, SUBJECT_NOT_SOFT_DELETED,
                         f"Subject '{subject}' was not deleted first before being permanently deleted")


def version_soft_deleted(subject: str, version: int) -> RegistryError:
    return RegistryError(404, VERSION_SOFT_DELETED,
                         f"Subject '{subject}' Version {version} was soft deleted."
                         "Set permanent=true to delete permanently")


def version_not_soft_deleted(subject: str, version: int) -> RegistryError:
    return RegistryError(404, VERSION_NOT_SOFT_DELETED,
                         f"Subject '{subject}' Version {version} was not deleted first "
                         "before being permanently deleted")


def subject_compatibility_not_configured(subject: str) -> RegistryError:
    return RegistryError(404, SUBJECT_COMPATIBILITY_NOT_CONFIGURED,
                         f"Subject '{subject}' does not have subject-level compatibility configured")


def subject_mode_not_configured(subject: str) -> RegistryError:
    return RegistryError(404, SUBJECT_MODE_NOT_CONFIGURED,
                         f"Subject '{subject}' does not have subject-level mode configured")


def incompatible_schema(subject: str, reasons: list[str]) -> RegistryError:
    details = ", ".join(reasons)
    return RegistryError(409, INCOMPATIBLE_SCHEMA,
                         f'Schema being registered is incompatible with an earlier schema for subject '
                         f'"{subject}", details: [{details}]')


def invalid_schema(message: str) -> RegistryError:
    return RegistryError(422, INVALID_SCHEMA, message)


def invalid_version(version: object) -> RegistryError:
    return RegistryError(422, INVALID_VERSION,
                         f"The specified version '{version}' is not a valid version id. "
                         'Allowed values are between [1, 2^31-1] and the string "latest"')


def invalid_compatibility_level() -> RegistryError:
    return RegistryError(422, INVALID_COMPATIBILITY_LEVEL,
                         "Invalid compatibility level. Valid values are none, backward, forward, "
                         "full, backward_transitive, forward_transitive, and full_transitive")


def invalid_mode() -> RegistryError:
    return RegistryError(422, INVALID_MODE, "Invalid mode. Valid values are READWRITE, READONLY and IMPORT.")


def operation_not_permitted(message: str) -> RegistryError:
    return RegistryError(422, OPERATION_NOT_PERMITTED, message)


def reference_exists(subject: str, version: int) -> RegistryError:
    return RegistryError(422, REFERENCE_EXISTS,
                         f"One or more references exist to the schema "
                         f"{{magic=1,keytype=SCHEMA,subject={subject},version={version}}}.")


def id_does_not_match(message: str = "The ID of an imported schema does not match the existing ID"
                      ) -> RegistryError:
    return RegistryError(422, ID_DOES_NOT_MATCH, message)


def store_error(message: str) -> RegistryError:
    return RegistryError(500, STORE_ERROR, message)


def operation_timeout(message: str) -> RegistryError:
    return RegistryError(500, OPERATION_TIMEOUT, message)


def forwarding_failed(message: str) -> RegistryError:
    return RegistryError(500, REQUEST_FORWARDING_FAILED, message)


def unknown_leader(message: str = "Request failed since leader is unknown") -> RegistryError:
    return RegistryError(500, UNKNOWN_LEADER, message)


def http_error(status: int, message: str) -> RegistryError:
    """An HTTP-level refusal (bad JSON, content type, size) whose code is the status itself."""
    return RegistryError(status, status, message)
