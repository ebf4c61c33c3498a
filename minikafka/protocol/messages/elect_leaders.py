"""ElectLeaders (key 43): ask the controller to elect partition leaders again.

``election_type`` 0 (PREFERRED, KIP-183) moves leadership back to each
partition's *preferred* replica, the first of its replica list, once that
replica is in sync again; 1 (UNCLEAN, KIP-460) elects any live replica when no
in-sync one is left, accepting the loss of records it lacks. A partition whose
leader already is the one the election would pick answers
``ELECTION_NOT_NEEDED``. ``topic_partitions`` null means every partition.

Declared by hand from Kafka's ElectLeaders message definitions; the broker serves it once the cluster work
(KRaft controller) has a handler, and the admin client sends it meanwhile.
"""

from minikafka.protocol.schema import Field, Message


ELECT_LEADERS_REQUEST = Message(
    name="ElectLeadersRequest",
    api_key=43,
    kind="request",
    valid_versions="0-2",
    flexible_versions="2+",
    about="Elect the preferred (or any live) replica as leader of partitions.",
    fields=[
        Field("election_type", "int8", "1+",
              about="Type of elections to conduct for the partition. A value of '0' elects the "
                    "preferred replica. A value of '1' elects the first live replica if there "
                    "are no in-sync replica."),
        Field("topic_partitions", "[]TopicPartitions", "0+", nullable="0+",
              about="The topic partitions to elect leaders.", fields=[
            Field("topic", "string", "0+", about="The name of a topic."),
            Field("partitions", "[]int32", "0+",
                  about="The partitions of this topic whose leader should be elected."),
        ]),
        Field("timeout_ms", "int32", "0+", default=60000,
              about="The time in ms to wait for the election to complete."),
    ],
)

ELECT_LEADERS_RESPONSE = Message(
    name="ElectLeadersResponse",
    api_key=43,
    kind="response",
    valid_versions="0-2",
    flexible_versions="2+",
    about="The result of the election, per partition.",
    fields=[
        Field("throttle_time_ms", "int32", "0+",
              about="The duration in milliseconds for which the request was throttled due to a "
                    "quota violation, or zero if the request did not violate any quota."),
        Field("error_code", "int16", "1+", about="The top level response error code."),
        Field("replica_election_results", "[]ReplicaElectionResult", "0+",
              about="The election results, or an empty array if the requester did not have "
                    "permission and the request asks for all partitions.", fields=[
            Field("topic", "string", "0+", about="The topic name"),
            Field("partition_result", "[]PartitionResult", "0+",
                  about="The results for each partition", fields=[
                Field("partition_id", "int32", "0+", about="The partition id"),
                Field("error_code", "int16", "0+",
                      about="The result error, or zero if there was no error."),
                Field("error_message", "string", "0+", nullable="0+", default=None,
                      about="The result message, or null if there was no error."),
            ]),
        ]),
    ],
)
