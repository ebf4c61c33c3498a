"""Client telemetry (KIP-714): GetTelemetrySubscriptions (71), PushTelemetry (72),
ListClientMetricsResources (74).

A client asks the broker which of its metrics it should push
(GetTelemetrySubscriptions) and then pushes them every ``push_interval_ms``
as an OpenTelemetry ``MetricsData`` protobuf (PushTelemetry). The first
request carries a zero client instance id; the broker answers with a fresh
one, which the client sends from then on. ``subscription_id`` names the
subscription set the client pushes for: when the broker's subscriptions
change, a push with the old id gets ``UNKNOWN_SUBSCRIPTION_ID`` and the
client asks again.

``requested_metrics`` are metric name prefixes: an empty array means no
metrics, one empty string means all of them. ListClientMetricsResources
names the subscriptions (CLIENT_METRICS config resources) an admin can
describe.
"""

from minikafka.protocol.schema import Field, Message

_THROTTLE_TIME = Field("throttle_time_ms", "int32", "0+",
                       about="The duration in milliseconds for which the request was throttled due to a "
                             "quota violation, or zero if the request did not violate any quota.")

GET_TELEMETRY_SUBSCRIPTIONS_REQUEST = Message(
    name="GetTelemetrySubscriptionsRequest",
    api_key=71,
    kind="request",
    valid_versions="0",
    flexible_versions="0+",
    about="Which metrics should this client push, and how often?",
    fields=[
        Field("client_instance_id", "uuid", "0+",
              about="The client instance id, or zero on the client's first request."),
    ],
)

GET_TELEMETRY_SUBSCRIPTIONS_RESPONSE = Message(
    name="GetTelemetrySubscriptionsResponse",
    api_key=71,
    kind="response",
    valid_versions="0",
    flexible_versions="0+",
    about="The client's subscription: metric prefixes, push interval, size limit.",
    fields=[
        _THROTTLE_TIME,
        Field("error_code", "int16", "0+", about="The error code, or 0 if there was no error."),
        Field("client_instance_id", "uuid", "0+",
              about="The id given to the client if it sent zero, else zero."),
        Field("subscription_id", "int32", "0+",
              about="Identifies the subscription set the client now pushes for."),
        Field("accepted_compression_types", "[]int8", "0+",
              about="The compression types the broker accepts in PushTelemetry, preferred first."),
        Field("push_interval_ms", "int32", "0+",
              about="How often to push: the smallest interval of the matching subscriptions."),
        Field("telemetry_max_bytes", "int32", "0+",
              about="The largest metrics payload the broker accepts in one push."),
        Field("delta_temporality", "bool", "0+",
              about="True: push counters as deltas since the last push; false: cumulative."),
        Field("requested_metrics", "[]string", "0+",
              about="Metric name prefixes to push: empty array none, one empty string all."),
    ],
)

PUSH_TELEMETRY_REQUEST = Message(
    name="PushTelemetryRequest",
    api_key=72,
    kind="request",
    valid_versions="0",
    flexible_versions="0+",
    about="The client's metrics, as an OTLP MetricsData protobuf.",
    fields=[
        Field("client_instance_id", "uuid", "0+", about="The client instance id."),
        Field("subscription_id", "int32", "0+", about="The subscription the metrics are pushed for."),
        Field("terminating", "bool", "0+", about="True on the client's last push before it closes."),
        Field("compression_type", "int8", "0+", about="How ``metrics`` is compressed (record batch codes)."),
        Field("metrics", "bytes", "0+", about="OpenTelemetry MetricsData v1, protobuf-encoded."),
    ],
)

PUSH_TELEMETRY_RESPONSE = Message(
    name="PushTelemetryResponse",
    api_key=72,
    kind="response",
    valid_versions="0",
    flexible_versions="0+",
    about="Whether the push was accepted.",
    fields=[
        _THROTTLE_TIME,
        Field("error_code", "int16", "0+", about="The error code, or 0 if there was no error."),
    ],
)

LIST_CLIENT_METRICS_RESOURCES_REQUEST = Message(
    name="ListClientMetricsResourcesRequest",
    api_key=74,
    kind="request",
    valid_versions="0",
    flexible_versions="0+",
    about="The names of every client-metrics config resource (subscription).",
    fields=[],
)

LIST_CLIENT_METRICS_RESOURCES_RESPONSE = Message(
    name="ListClientMetricsResourcesResponse",
    api_key=74,
    kind="response",
    valid_versions="0",
    flexible_versions="0+",
    about="The client-metrics resources that exist.",
    fields=[
        _THROTTLE_TIME,
        Field("error_code", "int16", "0+", about="The error code, or 0 if there was no error."),
        Field("client_metrics_resources", "[]ClientMetricsResource", "0+",
              about="One entry per client-metrics resource.", fields=[
            Field("name", "string", "0+", about="The resource name."),
        ]),
    ],
)
