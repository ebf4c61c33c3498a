"""Configuration APIs: DescribeConfigs (32), AlterConfigs (33),
IncrementalAlterConfigs (44).

A *resource* is a topic (``resource_type`` 2), a broker (4), a broker logger
(8) or a client-metrics subscription (16); configs are Kafka's property names
(``retention.ms``). AlterConfigs replaces a resource's whole set of dynamic
configs; IncrementalAlterConfigs (KIP-339) applies per-key operations
(0 SET, 1 DELETE, 2 APPEND, 3 SUBTRACT). DescribeConfigs v1+ can return each
value's synonyms (the chain of overrides it came from), v3+ its type and
documentation.
"""

from minikafka.protocol.schema import Field, Message


DESCRIBE_CONFIGS_REQUEST = Message(
    name="DescribeConfigsRequest",
    api_key=32,
    kind="request",
    # KIP-896: Kafka 4.0 removed v0.
    valid_versions="1-4",
    flexible_versions="4+",
    about="Describe the configs of topics or brokers.",
    fields=[
        Field("resources", "[]DescribeConfigsResource", "0+",
              about="The resources whose configurations we want to describe.", fields=[
            Field("resource_type", "int8", "0+", about="The resource type."),
            Field("resource_name", "string", "0+", about="The resource name."),
            Field("configuration_keys", "[]string", "0+", nullable="0+",
                  about="The configuration keys to list, or null to list all configuration keys."),
        ]),
        Field("include_synonyms", "bool", "1+", default=False,
              about="True if we should include all synonyms."),
        Field("include_documentation", "bool", "3+", default=False,
              about="True if we should include configuration documentation."),
    ],
)

DESCRIBE_CONFIGS_RESPONSE = Message(
    name="DescribeConfigsResponse",
    api_key=32,
    kind="response",
    # KIP-896: Kafka 4.0 removed v0.
    valid_versions="1-4",
    flexible_versions="4+",
    about="Per resource: each config's value, source and (v1+) synonyms.",
    fields=[
        Field("throttle_time_ms", "int32", "0+",
              about="The duration in milliseconds for which the request was throttled due to a "
                    "quota violation, or zero if the request did not violate any quota."),
        Field("results", "[]DescribeConfigsResult", "0+",
              about="The results for each resource.", fields=[
            Field("error_code", "int16", "0+",
                  about="The error code, or 0 if we were able to successfully describe the "
                        "configurations."),
            Field("error_message", "string", "0+", nullable="0+",
                  about="The error message, or null if we were able to successfully describe the"
                        " configurations."),
            Field("resource_type", "int8", "0+", about="The resource type."),
            Field("resource_name", "string", "0+", about="The resource name."),
            Field("configs", "[]DescribeConfigsResourceResult", "0+",
                  about="Each listed configuration.", fields=[
                Field("name", "string", "0+", about="The configuration name."),
                Field("value", "string", "0+", nullable="0+", about="The configuration value."),
                Field("read_only", "bool", "0+", about="True if the configuration is read-only."),
                # Below the KIP-896 floor: kept as in Kafka, never on the wire.
                Field("is_default", "bool", "0", about="True if the configuration is not set."),
                Field("config_source", "int8", "1+", default=-1, ignorable=True,
                      about="The configuration source."),
                Field("is_sensitive", "bool", "0+",
                      about="True if this configuration is sensitive."),
                Field("synonyms", "[]DescribeConfigsSynonym", "1+", ignorable=True,
                      about="The synonyms for this configuration key.", fields=[
                    Field("name", "string", "1+", about="The synonym name."),
                    Field("value", "string", "1+", nullable="0+", about="The synonym value."),
                    Field("source", "int8", "1+", about="The synonym source."),
                ]),
                Field("config_type", "int8", "3+", default=0, ignorable=True,
                      about="The configuration data type."),
                Field("documentation", "string", "3+", nullable="0+", ignorable=True,
                      about="The configuration documentation."),
            ]),
        ]),
    ],
)

ALTER_CONFIGS_REQUEST = Message(
    name="AlterConfigsRequest",
    api_key=33,
    kind="request",
    valid_versions="0-2",
    flexible_versions="2+",
    about="Replace the dynamic configs of topics or brokers.",
    fields=[
        Field("resources", "[]AlterConfigsResource", "0+",
              about="The updates for each resource.", fields=[
            Field("resource_type", "int8", "0+", about="The resource type."),
            Field("resource_name", "string", "0+", about="The resource name."),
            Field("configs", "[]AlterableConfig", "0+", about="The configurations.", fields=[
                Field("name", "string", "0+", about="The configuration key name."),
                Field("value", "string", "0+", nullable="0+",
                      about="The value to set for the configuration key."),
            ]),
        ]),
        Field("validate_only", "bool", "0+",
              about="True if we should validate the request, but not change the configurations."),
    ],
)

ALTER_CONFIGS_RESPONSE = Message(
    name="AlterConfigsResponse",
    api_key=33,
    kind="response",
    valid_versions="0-2",
    flexible_versions="2+",
    about="Per resource: whether its configs were replaced.",
    fields=[
        Field("throttle_time_ms", "int32", "0+",
              about="Duration in milliseconds for which the request was throttled due to a quota"
                    " violation, or zero if the request did not violate any quota."),
        Field("responses", "[]AlterConfigsResourceResponse", "0+",
              about="The responses for each resource.", fields=[
            Field("error_code", "int16", "0+", about="The resource error code."),
            Field("error_message", "string", "0+", nullable="0+",
                  about="The resource error message, or null if there was no error."),
            Field("resource_type", "int8", "0+", about="The resource type."),
            Field("resource_name", "string", "0+", about="The resource name."),
        ]),
    ],
)

INCREMENTAL_ALTER_CONFIGS_REQUEST = Message(
    name="IncrementalAlterConfigsRequest",
    api_key=44,
    kind="request",
    valid_versions="0-1",
    flexible_versions="1+",
    about="Set, delete, append to or subtract from configs, key by key.",
    fields=[
        Field("resources", "[]AlterConfigsResource", "0+",
              about="The incremental updates for each resource.", fields=[
            Field("resource_type", "int8", "0+", about="The resource type."),
            Field("resource_name", "string", "0+", about="The resource name."),
            Field("configs", "[]AlterableConfig", "0+", about="The configurations.", fields=[
                Field("name", "string", "0+", about="The configuration key name."),
                Field("config_operation", "int8", "0+",
                      about="The type (Set, Delete, Append, Subtract) of operation."),
                Field("value", "string", "0+", nullable="0+",
                      about="The value to set for the configuration key."),
            ]),
        ]),
        Field("validate_only", "bool", "0+",
              about="True if we should validate the request, but not change the configurations."),
    ],
)

INCREMENTAL_ALTER_CONFIGS_RESPONSE = Message(
    name="IncrementalAlterConfigsResponse",
    api_key=44,
    kind="response",
    valid_versions="0-1",
    flexible_versions="1+",
    about="Per resource: whether its configs were altered.",
    fields=[
        Field("throttle_time_ms", "int32", "0+",
              about="Duration in milliseconds for which the request was throttled due to a quota"
                    " violation, or zero if the request did not violate any quota."),
        Field("responses", "[]AlterConfigsResourceResponse", "0+",
              about="The responses for each resource.", fields=[
            Field("error_code", "int16", "0+", about="The resource error code."),
            Field("error_message", "string", "0+", nullable="0+",
                  about="The resource error message, or null if there was no error."),
            Field("resource_type", "int8", "0+", about="The resource type."),
            Field("resource_name", "string", "0+", about="The resource name."),
        ]),
    ],
)
