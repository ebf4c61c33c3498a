"""ApiVersions (key 18): tell the client which APIs and versions we serve.

Every client sends ApiVersions first on each connection, then uses, per API,
the highest version both sides know. The answer is derived from the message
declarations (``messages.REQUESTS``: the versions the codec can decode), kept
to the APIs that have a handler module, so the broker never advertises
something it cannot answer.

v3+ (KIP-511) carries the client's software name and version; Kafka keeps them
on the connection (they show up in its metrics) and rejects names with
characters outside ``[a-zA-Z0-9.-]`` with INVALID_REQUEST. A version this
broker does not know is answered by the server itself with a v0-format
UNSUPPORTED_VERSION response built from ``supported_api_keys``.
"""

from __future__ import annotations

import re

from minikafka.errors import ErrorCode
from minikafka.handlers import RequestContext
from minikafka.handlers.services import BrokerServices
from minikafka.protocol import messages

API_KEY = 18

# Kafka's ApiVersionsRequest.isValid(): letters, digits, '.', '-'; starts and
# ends with a letter or digit.
_SOFTWARE_FIELD = re.compile(r"^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$")


def supported_api_keys(services: BrokerServices) -> list[dict]:
    """``[{api_key, min_version, max_version}]`` for every API with a handler."""
    api_keys = []
    for api_key in sorted(services.api_keys):
        request = messages.REQUESTS.get(api_key)
        if request is None:
            continue
        versions = request.valid_versions
        api_keys.append({"api_key": api_key, "min_version": versions.lowest,
                         "max_version": versions.highest})
    return api_keys


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    if ctx.api_version >= 3:
        name, version = request.client_software_name, request.client_software_version
        if not (_SOFTWARE_FIELD.match(name or "") and _SOFTWARE_FIELD.match(version or "")):
            return {"error_code": ErrorCode.INVALID_REQUEST, "api_keys": []}
        ctx.connection.client_software_name = name
        ctx.connection.client_software_version = version
    return {
        "error_code": ErrorCode.NONE,
        "api_keys": supported_api_keys(services),
        "throttle_time_ms": 0,
    }
