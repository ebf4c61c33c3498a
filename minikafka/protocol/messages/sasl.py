"""SaslHandshake (key 17): choose a SASL mechanism.

The client names a mechanism (``PLAIN``, ``SCRAM-SHA-256``, ...); the broker
answers with an error if it does not enable it, and always with the list it
does enable. v1 says the SASL tokens then travel in SaslAuthenticate requests
instead of raw frames (KIP-152).
"""

from minikafka.protocol.schema import Field, Message


SASL_HANDSHAKE_REQUEST = Message(
    name="SaslHandshakeRequest",
    api_key=17,
    kind="request",
    valid_versions="0-1",
    flexible_versions="none",
    about="Choose a SASL mechanism.",
    fields=[
        Field("mechanism", "string", "0+", about="The SASL mechanism chosen by the client."),
    ],
)

SASL_HANDSHAKE_RESPONSE = Message(
    name="SaslHandshakeResponse",
    api_key=17,
    kind="response",
    valid_versions="0-1",
    flexible_versions="none",
    about="Whether the mechanism is enabled, and the ones that are.",
    fields=[
        Field("error_code", "int16", "0+", about="The error code, or 0 if there was no error."),
        Field("mechanisms", "[]string", "0+", about="The mechanisms enabled in the server."),
    ],
)
