"""KIP-631 broker lifecycle RPCs: BrokerRegistration (62) and BrokerHeartbeat (63).

A KRaft broker registers with the active controller (node id, a fresh
incarnation id, its listeners) and gets a *broker epoch*; it then heartbeats
with the last metadata offset it applied, and the controller unfences it once
that offset reaches its registration. Kafka serves both only on the
controller listener (``"listeners": ["controller"]`` in Kafka's JSON).

Declared by hand from Kafka 4.0's BrokerRegistration (v0-4) and
BrokerHeartbeat (v0-1) message definitions, requests and responses.
"""

from minikafka.protocol.schema import Field, Message

# --- BrokerRegistration (62) ---------------------------------------------------------

BROKER_REGISTRATION_REQUEST = Message(
    name="BrokerRegistrationRequest",
    api_key=62,
    kind="request",
    valid_versions="0-4",
    flexible_versions="0+",
    about="Register a broker with the active controller (KIP-631).",
    fields=[
        Field("broker_id", "int32", "0+", about="The broker ID."),
        Field("cluster_id", "string", "0+", about="The cluster id of the broker process."),
        Field("incarnation_id", "uuid", "0+", about="The incarnation id of the broker process."),
        Field("listeners", "[]Listener", "0+", about="The listeners of this broker", fields=[
            Field("name", "string", "0+", about="The name of the endpoint."),
            Field("host", "string", "0+", about="The hostname."),
            Field("port", "uint16", "0+", about="The port."),
            Field("security_protocol", "int16", "0+", about="The security protocol."),
        ]),
        Field("features", "[]Feature", "0+", about="The features on this broker.", fields=[
            Field("name", "string", "0+", about="The feature name."),
            Field("min_supported_version", "int16", "0+", about="The minimum supported feature level."),
            Field("max_supported_version", "int16", "0+", about="The maximum supported feature level."),
        ]),
        Field("rack", "string", "0+", nullable="0+", about="The rack which this broker is in."),
        Field("is_migrating_zk_broker", "bool", "1+", default=False,
              about="True if the required configurations for ZK migration are present."),
        Field("log_dirs", "[]uuid", "2+", ignorable=True,
              about="Log directories configured in this broker which are available."),
        Field("previous_broker_epoch", "int64", "3+", default=-1, ignorable=True,
              about="The epoch before a clean shutdown."),
    ],
)

BROKER_REGISTRATION_RESPONSE = Message(
    name="BrokerRegistrationResponse",
    api_key=62,
    kind="response",
    valid_versions="0-4",
    flexible_versions="0+",
    about="The broker epoch the controller assigned.",
    fields=[
        Field("throttle_time_ms", "int32", "0+",
              about="The duration in milliseconds for which the request was throttled."),
        Field("error_code", "int16", "0+", about="The error code, or 0 if there was no error."),
        Field("broker_epoch", "int64", "0+", default=-1,
              about="The broker's assigned epoch, or -1 if none was assigned."),
    ],
)

# --- BrokerHeartbeat (63) ------------------------------------------------------------

BROKER_HEARTBEAT_REQUEST = Message(
    name="BrokerHeartbeatRequest",
    api_key=63,
    kind="request",
    valid_versions="0-1",
    flexible_versions="0+",
    about="Keep a broker's session with the active controller (KIP-631).",
    fields=[
        Field("broker_id", "int32", "0+", about="The broker ID."),
        Field("broker_epoch", "int64", "0+", default=-1, about="The broker epoch."),
        Field("current_metadata_offset", "int64", "0+",
              about="The highest metadata offset which the broker has reached."),
        Field("want_fence", "bool", "0+", about="True if the broker wants to be fenced."),
        Field("want_shut_down", "bool", "0+", about="True if the broker wants to be shut down."),
        Field("offline_log_dirs", "[]uuid", "1+", tag=0,
              about="Log directories that failed and went offline."),
    ],
)

BROKER_HEARTBEAT_RESPONSE = Message(
    name="BrokerHeartbeatResponse",
    api_key=63,
    kind="response",
    valid_versions="0-1",
    flexible_versions="0+",
    about="Whether the broker is caught up, fenced, or may shut down.",
    fields=[
        Field("throttle_time_ms", "int32", "0+",
              about="The duration in milliseconds for which the request was throttled."),
        Field("error_code", "int16", "0+", about="The error code, or 0 if there was no error."),
        Field("is_caught_up", "bool", "0+", default=False,
              about="True if the broker has approximately caught up with the latest metadata."),
        Field("is_fenced", "bool", "0+", default=True, about="True if the broker is fenced."),
        Field("should_shut_down", "bool", "0+",
              about="True if the broker should proceed with its shutdown."),
    ],
)
