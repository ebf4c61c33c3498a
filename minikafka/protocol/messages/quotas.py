"""Client quota APIs: DescribeClientQuotas (48), AlterClientQuotas (49) (KIP-546).

A quota *entity* is a list of ``(entity_type, entity_name)`` components:
``user``, ``client-id`` (alone or together) or ``ip``; a null name is the
*default* entity of that type (``<default>`` in kafka-configs.sh). Each entity
carries numeric quota values by key (``producer_byte_rate``,
``consumer_byte_rate``, ``request_percentage``, ``controller_mutation_rate``,
``connection_creation_rate``), sent as IEEE 754 doubles.

DescribeClientQuotas filters entities with components: match type 0 is an
exact name, 1 the default entity, 2 any specified name; ``strict`` leaves out
entities that carry types the filter does not name. AlterClientQuotas sets or
removes keys per entity; ``validate_only`` checks without writing.
"""

from minikafka.protocol.schema import Field, Message


def _entity_fields(about_name: str) -> list[Field]:
    """The two fields of one entity component, shared by three messages."""
    return [
        Field("entity_type", "string", "0+", about="The entity type."),
        Field("entity_name", "string", "0+", nullable="0+", about=about_name),
    ]


DESCRIBE_CLIENT_QUOTAS_REQUEST = Message(
    name="DescribeClientQuotasRequest",
    api_key=48,
    kind="request",
    valid_versions="0-1",
    flexible_versions="1+",
    about="Describe the client quotas whose entities match the filter.",
    fields=[
        Field("components", "[]ComponentData", "0+",
              about="Filter components to apply to quota entities.", fields=[
            Field("entity_type", "string", "0+",
                  about="The entity type that the filter component applies to."),
            Field("match_type", "int8", "0+",
                  about="How to match the entity {0 = exact name, 1 = default name, "
                        "2 = any specified name}."),
            Field("match", "string", "0+", nullable="0+",
                  about="The string to match against, or null if unused for the match type."),
        ]),
        Field("strict", "bool", "0+",
              about="Whether the match is strict, i.e. should exclude entities with "
                    "unspecified entity types."),
    ],
)

DESCRIBE_CLIENT_QUOTAS_RESPONSE = Message(
    name="DescribeClientQuotasResponse",
    api_key=48,
    kind="response",
    valid_versions="0-1",
    flexible_versions="1+",
    about="The matching entities and their quota values, or one error for the whole filter.",
    fields=[
        Field("throttle_time_ms", "int32", "0+",
              about="The duration in milliseconds for which the request was throttled due to a "
                    "quota violation, or zero if the request did not violate any quota."),
        Field("error_code", "int16", "0+",
              about="The error code, or 0 if the quota description succeeded."),
        Field("error_message", "string", "0+", nullable="0+",
              about="The error message, or null if the quota description succeeded."),
        Field("entries", "[]EntryData", "0+", nullable="0+", about="A result entry.", fields=[
            Field("entity", "[]EntityData", "0+", about="The quota entity description.",
                  fields=_entity_fields("The entity name, or null if the default.")),
            Field("values", "[]ValueData", "0+", about="The quota values for the entity.",
                  fields=[
                Field("key", "string", "0+", about="The quota configuration key."),
                Field("value", "float64", "0+", about="The quota configuration value."),
            ]),
        ]),
    ],
)

ALTER_CLIENT_QUOTAS_REQUEST = Message(
    name="AlterClientQuotasRequest",
    api_key=49,
    kind="request",
    valid_versions="0-1",
    flexible_versions="1+",
    about="Set or remove quota values, entity by entity.",
    fields=[
        Field("entries", "[]EntryData", "0+",
              about="The quota configuration entries to alter.", fields=[
            Field("entity", "[]EntityData", "0+", about="The quota entity to alter.",
                  fields=_entity_fields("The name of the entity, or null if the default.")),
            Field("ops", "[]OpData", "0+",
                  about="An individual quota configuration entry to alter.", fields=[
                Field("key", "string", "0+", about="The quota configuration key."),
                Field("value", "float64", "0+",
                      about="The value to set, otherwise ignored if the value is to be removed."),
                Field("remove", "bool", "0+",
                      about="Whether the quota configuration value should be removed, "
                            "otherwise set."),
            ]),
        ]),
        Field("validate_only", "bool", "0+",
              about="Whether the alteration should be validated, but not performed."),
    ],
)

ALTER_CLIENT_QUOTAS_RESPONSE = Message(
    name="AlterClientQuotasResponse",
    api_key=49,
    kind="response",
    valid_versions="0-1",
    flexible_versions="1+",
    about="Per entity: whether its alteration succeeded.",
    fields=[
        Field("throttle_time_ms", "int32", "0+",
              about="The duration in milliseconds for which the request was throttled due to a "
                    "quota violation, or zero if the request did not violate any quota."),
        Field("entries", "[]EntryData", "0+",
              about="The quota configuration entries to alter.", fields=[
            Field("error_code", "int16", "0+",
                  about="The error code, or 0 if the quota alteration succeeded."),
            Field("error_message", "string", "0+", nullable="0+",
                  about="The error message, or null if the quota alteration succeeded."),
            Field("entity", "[]EntityData", "0+", about="The quota entity to alter.",
                  fields=_entity_fields("The name of the entity, or null if the default.")),
        ]),
    ],
)
