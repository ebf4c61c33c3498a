"""Consumer group membership: FindCoordinator (10), JoinGroup (11), Heartbeat (12),
LeaveGroup (13), SyncGroup (14), DescribeGroups (15), ListGroups (16).

The classic group protocol: a consumer finds its group's coordinator, joins
(the coordinator picks a leader and collects every member's subscription),
the leader computes the assignment and hands it back through SyncGroup, and
every member heartbeats to stay in the group. ``protocol_type`` is
``"consumer"`` for consumers; the ``metadata`` and ``assignment`` bytes are
opaque to the broker. Static membership (KIP-345) adds ``group_instance_id``.
"""

from minikafka.protocol.schema import Field, Message


FIND_COORDINATOR_REQUEST = Message(
    name="FindCoordinatorRequest",
    api_key=10,
    kind="request",
    valid_versions="0-6",
    flexible_versions="3+",
    about="Ask which broker coordinates a group or a transactional id.",
    fields=[
        Field("key", "string", "0-3", about="The coordinator key."),
        Field("key_type", "int8", "1+", default=0, about="The coordinator key type."),
        Field("coordinator_keys", "[]string", "4+", about="The coordinator keys."),
    ],
)

FIND_COORDINATOR_RESPONSE = Message(
    name="FindCoordinatorResponse",
    api_key=10,
    kind="response",
    valid_versions="0-6",
    flexible_versions="3+",
    about="The coordinator's node id, host and port (per key in v4+).",
    fields=[
        Field("throttle_time_ms", "int32", "1+", ignorable=True,
              about="The duration in milliseconds for which the request was throttled due to a "
                    "quota violation, or zero if the request did not violate any quota."),
        Field("error_code", "int16", "0-3", about="The error code, or 0 if there was no error."),
        Field("error_message", "string", "1-3", nullable="1-3", ignorable=True,
              about="The error message, or null if there was no error."),
        Field("node_id", "int32", "0-3", about="The node id."),
        Field("host", "string", "0-3", about="The host name."),
        Field("port", "int32", "0-3", about="The port."),
        Field("coordinators", "[]Coordinator", "4+",
              about="Each coordinator result in the response", fields=[
            Field("key", "string", "4+", about="The coordinator key."),
            Field("node_id", "int32", "4+", about="The node id."),
            Field("host", "string", "4+", about="The host name."),
            Field("port", "int32", "4+", about="The port."),
            Field("error_code", "int16", "4+",
                  about="The error code, or 0 if there was no error."),
            Field("error_message", "string", "4+", nullable="4+", ignorable=True,
                  about="The error message, or null if there was no error."),
        ]),
    ],
)

JOIN_GROUP_REQUEST = Message(
    name="JoinGroupRequest",
    api_key=11,
    kind="request",
    # KIP-896: Kafka 4.0 removed v0-1.
    valid_versions="2-9",
    flexible_versions="6+",
    about="Join a consumer group, or rejoin it for a rebalance.",
    fields=[
        Field("group_id", "string", "0+", about="The group identifier."),
        Field("session_timeout_ms", "int32", "0+",
              about="The coordinator considers the consumer dead if it receives no heartbeat "
                    "after this timeout in milliseconds."),
        Field("rebalance_timeout_ms", "int32", "1+", default=-1, ignorable=True,
              about="The maximum time in milliseconds that the coordinator will wait for each "
                    "member to rejoin when rebalancing the group."),
        Field("member_id", "string", "0+",
              about="The member id assigned by the group coordinator."),
        Field("group_instance_id", "string", "5+", nullable="5+", default=None,
              about="The unique identifier of the consumer instance provided by end user."),
        Field("protocol_type", "string", "0+",
              about="The unique name the for class of protocols implemented by the group we want"
                    " to join."),
        Field("protocols", "[]JoinGroupRequestProtocol", "0+",
              about="The list of protocols that the member supports.", fields=[
            Field("name", "string", "0+", about="The protocol name."),
            Field("metadata", "bytes", "0+", about="The protocol metadata."),
        ]),
        Field("reason", "string", "8+", nullable="8+", default=None, ignorable=True,
              about="The reason why the member (re-)joins the group."),
    ],
)

JOIN_GROUP_RESPONSE = Message(
    name="JoinGroupResponse",
    api_key=11,
    kind="response",
    # KIP-896: Kafka 4.0 removed v0-1.
    valid_versions="2-9",
    flexible_versions="6+",
    about="The generation, the leader and (for the leader) every member's metadata.",
    fields=[
        Field("throttle_time_ms", "int32", "2+", ignorable=True,
              about="The duration in milliseconds for which the request was throttled due to a "
                    "quota violation, or zero if the request did not violate any quota."),
        Field("error_code", "int16", "0+", about="The error code, or 0 if there was no error."),
        Field("generation_id", "int32", "0+", default=-1, about="The generation ID of the group."),
        Field("protocol_type", "string", "7+", nullable="7+", default=None, ignorable=True,
              about="The group protocol name."),
        Field("protocol_name", "string", "0+", nullable="7+",
              about="The group protocol selected by the coordinator."),
        Field("leader", "string", "0+", about="The leader of the group."),
        Field("skip_assignment", "bool", "9+", default=False,
              about="True if the leader must skip running the assignment."),
        Field("member_id", "string", "0+",
              about="The member ID assigned by the group coordinator."),
        Field("members", "[]JoinGroupResponseMember", "0+", fields=[
            Field("member_id", "string", "0+", about="The group member ID."),
            Field("group_instance_id", "string", "5+", nullable="5+", default=None, ignorable=True,
                  about="The unique identifier of the consumer instance provided by end user."),
            Field("metadata", "bytes", "0+", about="The group member metadata."),
        ]),
    ],
)

HEARTBEAT_REQUEST = Message(
    name="HeartbeatRequest",
    api_key=12,
    kind="request",
    valid_versions="0-4",
    flexible_versions="4+",
    about="Tell the coordinator a member is alive.",
    fields=[
        Field("group_id", "string", "0+", about="The group id."),
        Field("generation_id", "int32", "0+", about="The generation of the group."),
        Field("member_id", "string", "0+", about="The member ID."),
        Field("group_instance_id", "string", "3+", nullable="3+", default=None,
              about="The unique identifier of the consumer instance provided by end user."),
    ],
)

HEARTBEAT_RESPONSE = Message(
    name="HeartbeatResponse",
    api_key=12,
    kind="response",
    valid_versions="0-4",
    flexible_versions="4+",
    about="Whether the member should keep going or rejoin.",
    fields=[
        Field("throttle_time_ms", "int32", "1+", ignorable=True,
              about="The duration in milliseconds for which the request was throttled due to a "
                    "quota violation, or zero if the request did not violate any quota."),
        Field("error_code", "int16", "0+", about="The error code, or 0 if there was no error."),
    ],
)

LEAVE_GROUP_REQUEST = Message(
    name="LeaveGroupRequest",
    api_key=13,
    kind="request",
    valid_versions="0-5",
    flexible_versions="4+",
    about="Leave a consumer group.",
    fields=[
        Field("group_id", "string", "0+", about="The ID of the group to leave."),
        Field("member_id", "string", "0-2", about="The member ID to remove from the group."),
        Field("members", "[]MemberIdentity", "3+",
              about="List of leaving member identities.", fields=[
            Field("member_id", "string", "3+", about="The member ID to remove from the group."),
            Field("group_instance_id", "string", "3+", nullable="3+", default=None,
                  about="The group instance ID to remove from the group."),
            Field("reason", "string", "5+", nullable="5+", default=None, ignorable=True,
                  about="The reason why the member left the group."),
        ]),
    ],
)

LEAVE_GROUP_RESPONSE = Message(
    name="LeaveGroupResponse",
    api_key=13,
    kind="response",
    valid_versions="0-5",
    flexible_versions="4+",
    about="Per member (v3+): whether it left.",
    fields=[
        Field("throttle_time_ms", "int32", "1+", ignorable=True,
              about="The duration in milliseconds for which the request was throttled due to a "
                    "quota violation, or zero if the request did not violate any quota."),
        Field("error_code", "int16", "0+", about="The error code, or 0 if there was no error."),
        Field("members", "[]MemberResponse", "3+",
              about="List of leaving member responses.", fields=[
            Field("member_id", "string", "3+", about="The member ID to remove from the group."),
            Field("group_instance_id", "string", "3+", nullable="3+",
                  about="The group instance ID to remove from the group."),
            Field("error_code", "int16", "3+",
                  about="The error code, or 0 if there was no error."),
        ]),
    ],
)

SYNC_GROUP_REQUEST = Message(
    name="SyncGroupRequest",
    api_key=14,
    kind="request",
    valid_versions="0-5",
    flexible_versions="4+",
    about="Send (leader) or receive (everyone) the group's assignment.",
    fields=[
        Field("group_id", "string", "0+", about="The unique group identifier."),
        Field("generation_id", "int32", "0+", about="The generation of the group."),
        Field("member_id", "string", "0+", about="The member ID assigned by the group."),
        Field("group_instance_id", "string", "3+", nullable="3+", default=None,
              about="The unique identifier of the consumer instance provided by end user."),
        Field("protocol_type", "string", "5+", nullable="5+", default=None, ignorable=True,
              about="The group protocol type."),
        Field("protocol_name", "string", "5+", nullable="5+", default=None, ignorable=True,
              about="The group protocol name."),
        Field("assignments", "[]SyncGroupRequestAssignment", "0+",
              about="Each assignment.", fields=[
            Field("member_id", "string", "0+", about="The ID of the member to assign."),
            Field("assignment", "bytes", "0+", about="The member assignment."),
        ]),
    ],
)

SYNC_GROUP_RESPONSE = Message(
    name="SyncGroupResponse",
    api_key=14,
    kind="response",
    valid_versions="0-5",
    flexible_versions="4+",
    about="This member's assignment.",
    fields=[
        Field("throttle_time_ms", "int32", "1+", ignorable=True,
              about="The duration in milliseconds for which the request was throttled due to a "
                    "quota violation, or zero if the request did not violate any quota."),
        Field("error_code", "int16", "0+", about="The error code, or 0 if there was no error."),
        Field("protocol_type", "string", "5+", nullable="5+", default=None, ignorable=True,
              about="The group protocol type."),
        Field("protocol_name", "string", "5+", nullable="5+", default=None, ignorable=True,
              about="The group protocol name."),
        Field("assignment", "bytes", "0+", about="The member assignment."),
    ],
)

DESCRIBE_GROUPS_REQUEST = Message(
    name="DescribeGroupsRequest",
    api_key=15,
    kind="request",
    valid_versions="0-5",
    flexible_versions="5+",
    about="Describe groups: state, protocol and members.",
    fields=[
        Field("groups", "[]string", "0+", about="The names of the groups to describe"),
        Field("include_authorized_operations", "bool", "3+",
              about="Whether to include authorized operations."),
    ],
)

DESCRIBE_GROUPS_RESPONSE = Message(
    name="DescribeGroupsResponse",
    api_key=15,
    kind="response",
    valid_versions="0-5",
    flexible_versions="5+",
    about="Per group: its state, protocol and members.",
    fields=[
        Field("throttle_time_ms", "int32", "1+", ignorable=True,
              about="The duration in milliseconds for which the request was throttled due to a "
                    "quota violation, or zero if the request did not violate any quota."),
        Field("groups", "[]DescribedGroup", "0+", about="Each described group.", fields=[
            Field("error_code", "int16", "0+",
                  about="The describe error, or 0 if there was no error."),
            Field("group_id", "string", "0+", about="The group ID string."),
            Field("group_state", "string", "0+",
                  about="The group state string, or the empty string."),
            Field("protocol_type", "string", "0+",
                  about="The group protocol type, or the empty string."),
            Field("protocol_data", "string", "0+",
                  about="The group protocol data, or the empty string."),
            Field("members", "[]DescribedGroupMember", "0+", about="The group members.", fields=[
                Field("member_id", "string", "0+",
                      about="The member ID assigned by the group coordinator."),
                Field("group_instance_id", "string", "4+", nullable="4+", default=None,
                      ignorable=True,
                      about="The unique identifier of the consumer instance provided by end "
                            "user."),
                Field("client_id", "string", "0+",
                      about="The client ID used in the member's latest join group request."),
                Field("client_host", "string", "0+", about="The client host."),
                Field("member_metadata", "bytes", "0+",
                      about="The metadata corresponding to the current group protocol in use."),
                Field("member_assignment", "bytes", "0+",
                      about="The current assignment provided by the group leader."),
            ]),
            Field("authorized_operations", "int32", "3+", default=-2147483648,
                  about="32-bit bitfield to represent authorized operations for this group."),
        ]),
    ],
)

LIST_GROUPS_REQUEST = Message(
    name="ListGroupsRequest",
    api_key=16,
    kind="request",
    valid_versions="0-5",
    flexible_versions="3+",
    about="List the groups a broker coordinates.",
    fields=[
        Field("states_filter", "[]string", "4+",
              about="The states of the groups we want to list."),
        Field("types_filter", "[]string", "5+", about="The types of the groups we want to list."),
    ],
)

LIST_GROUPS_RESPONSE = Message(
    name="ListGroupsResponse",
    api_key=16,
    kind="response",
    valid_versions="0-5",
    flexible_versions="3+",
    about="The groups, with their protocol type (and state, v4+).",
    fields=[
        Field("throttle_time_ms", "int32", "1+", ignorable=True,
              about="The duration in milliseconds for which the request was throttled due to a "
                    "quota violation, or zero if the request did not violate any quota."),
        Field("error_code", "int16", "0+", about="The error code, or 0 if there was no error."),
        Field("groups", "[]ListedGroup", "0+", about="Each group in the response.", fields=[
            Field("group_id", "string", "0+", about="The group ID."),
            Field("protocol_type", "string", "0+", about="The group protocol type."),
            Field("group_state", "string", "4+", ignorable=True, about="The group state name."),
            Field("group_type", "string", "5+", ignorable=True, about="The group type name."),
        ]),
    ],
)
