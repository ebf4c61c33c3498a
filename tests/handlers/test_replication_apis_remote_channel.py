"""The FORWARDED table of the new controller operations, across a real socket.

A broker in another process reaches the active controller with
``RemoteControllers``: it encodes the operation's request at the version
``FORWARDED`` names and reads the answer back, and a NOT_CONTROLLER answer
makes it look for the controller again. Here the "other process" is a
``RemoteControllers`` pointed at in-process brokers' loopback listeners.
"""

from __future__ import annotations

import pytest

from minikafka.errors import ErrorCode, KafkaError
from minikafka.metadata.broker_lifecycle import RemoteControllers
from minikafka.metadata.forwarding import FORWARDED
from minikafka.protocol import messages
from minikafka.testing import open_cluster
from replication_apis_wire import alter_partition_body, broker_epoch, controller_and_other, create_topic

REPLICATION_OPERATIONS = ["alter_partition", "elect_leaders", "alter_partition_reassignments",
                          "list_partition_reassignments", "allocate_producer_ids"]
SAMPLE_REQUESTS = {
    "alter_partition": {"broker_id": 1, "broker_epoch": 5, "topics": [{"topic_id": b"\1" * 16, "partitions": [
        {"partition_index": 0, "leader_epoch": 1, "new_isr_with_epochs": [{"broker_id": 1, "broker_epoch": 5}],
         "partition_epoch": 2}]}]},
    "elect_leaders": {"election_type": 0, "timeout_ms": 100, "topic_partitions": [{"topic": "t", "partitions": [0, 1]}]},
    "alter_partition_reassignments": {"timeout_ms": 100, "topics": [
        {"name": "t", "partitions": [{"partition_index": 0, "replicas": [2]}]}]},
    "list_partition_reassignments": {"timeout_ms": 100, "topics": None},
    "allocate_producer_ids": {"broker_id": 1, "broker_epoch": 5},
}


@pytest.mark.parametrize("operation", REPLICATION_OPERATIONS)
def test_error_responses_encode_at_the_forwarded_version(operation):
    api = FORWARDED[operation]
    request_message, response_message = messages.REQUESTS[api.api_key], messages.RESPONSES[api.api_key]
    request = request_message.decode(request_message.encode(SAMPLE_REQUESTS[operation], api.version), api.version)
    error = {"throttle_time_ms": 0, **api.error_response(request, ErrorCode.NOT_CONTROLLER, "moved")}
    decoded = response_message.decode(response_message.encode(error, api.version), api.version)
    assert decoded.error_code == ErrorCode.NOT_CONTROLLER  # what RemoteControllers looks at (results None)


async def test_every_operation_reaches_the_controller_over_tcp(tmp_path, autojump_clock):
    async with open_cluster(tmp_path, brokers=3) as cluster:
        await create_topic(cluster, "t", 1, 3)
        controller, other = controller_and_other(cluster)
        voters = {b.node_id: ("127.0.0.1", b.bound_ports[0]) for b in cluster.brokers.values()}
        remote = RemoteControllers(99, voters)
        try:
            stale = alter_partition_body(controller, "t", 0, (1, 2, 3), partition_epoch=-5)
            response = await remote.call(controller.node_id, "alter_partition", stale)
            assert response["topics"][0]["partitions"][0]["error_code"] == ErrorCode.INVALID_UPDATE_VERSION
            elected = await remote.call(controller.node_id, "elect_leaders", SAMPLE_REQUESTS["elect_leaders"])
            assert [p["error_code"] for p in elected["replica_election_results"][0]["partition_result"]] == [
                ErrorCode.ELECTION_NOT_NEEDED, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]
            listed = await remote.call(controller.node_id, "list_partition_reassignments",
                                       SAMPLE_REQUESTS["list_partition_reassignments"])
            assert listed["error_code"] == ErrorCode.NONE
            block = {"broker_id": other.node_id, "broker_epoch": broker_epoch(controller, other.node_id)}
            allocated = await remote.call(controller.node_id, "allocate_producer_ids", block)
            assert (allocated["error_code"], allocated["producer_id_len"]) == (ErrorCode.NONE, 1000)
            with pytest.raises(KafkaError) as error:  # the sender looks for the controller again
                await remote.call(other.node_id, "allocate_producer_ids", block)
            assert error.value.code == ErrorCode.NOT_CONTROLLER
        finally:
            await remote.aclose()
