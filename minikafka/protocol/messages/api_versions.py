"""ApiVersions (key 18): which APIs and versions the broker speaks.

A client sends ApiVersions first on every connection and then picks, for each
API, the highest version both sides support. The broker answers from the
declarations in this package (``REQUESTS``), so the answer can never disagree
with what the codec accepts.

Two quirks a student meets here (KIP-511, KIP-584):

- the *response* header is always v0 (no tagged fields), even for flexible
  versions, so that a client that sent too new a version can still read the
  broker's ``UNSUPPORTED_VERSION`` answer and its ``api_keys`` list;
- v3+ requests carry ``client_software_name`` / ``client_software_version``,
  and v3+ responses may carry feature flags as tagged fields.
"""

from minikafka.protocol.schema import Field, Message


API_VERSIONS_REQUEST = Message(
    name="ApiVersionsRequest",
    api_key=18,
    kind="request",
    valid_versions="0-4",
    flexible_versions="3+",
    about="Ask the broker which API versions it supports.",
    fields=[
        Field("client_software_name", "string", "3+", ignorable=True,
              about="The name of the client."),
        Field("client_software_version", "string", "3+", ignorable=True,
              about="The version of the client."),
    ],
)

API_VERSIONS_RESPONSE = Message(
    name="ApiVersionsResponse",
    api_key=18,
    kind="response",
    valid_versions="0-4",
    flexible_versions="3+",
    about="The API versions (and features) the broker supports.",
    fields=[
        Field("error_code", "int16", "0+", about="The top-level error code."),
        Field("api_keys", "[]ApiVersion", "0+", about="The APIs supported by the broker.", fields=[
            Field("api_key", "int16", "0+", about="The API index."),
            Field("min_version", "int16", "0+", about="The minimum supported version, inclusive."),
            Field("max_version", "int16", "0+", about="The maximum supported version, inclusive."),
        ]),
        Field("throttle_time_ms", "int32", "1+", ignorable=True,
              about="The duration in milliseconds for which the request was throttled due to a "
                    "quota violation, or zero if the request did not violate any quota."),
        Field("supported_features", "[]SupportedFeatureKey", "3+", tag=0, ignorable=True,
              about="Features supported by the broker.", fields=[
            Field("name", "string", "3+", about="The name of the feature."),
            Field("min_version", "int16", "3+",
                  about="The minimum supported version for the feature."),
            Field("max_version", "int16", "3+",
                  about="The maximum supported version for the feature."),
        ]),
        Field("finalized_features_epoch", "int64", "3+", default=-1, tag=1, ignorable=True,
              about="The monotonically increasing epoch for the finalized features information."),
        Field("finalized_features", "[]FinalizedFeatureKey", "3+", tag=2, ignorable=True,
              about="List of cluster-wide finalized features.", fields=[
            Field("name", "string", "3+", about="The name of the feature."),
            Field("max_version_level", "int16", "3+",
                  about="The cluster-wide finalized max version level for the feature."),
            Field("min_version_level", "int16", "3+",
                  about="The cluster-wide finalized min version level for the feature."),
        ]),
        Field("zk_migration_ready", "bool", "3+", default=False, tag=3, ignorable=True,
              about="Set by a KRaft controller if the required configurations for ZK migration "
                    "are present"),
    ],
)
