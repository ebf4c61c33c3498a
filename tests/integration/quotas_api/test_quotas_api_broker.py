"""DescribeClientQuotas and AlterClientQuotas against one real broker, over TCP,
with requests written by kafka-python's encoder (v0 and v1)."""

from __future__ import annotations

import os

import pytest
import trio
from kafka.protocol.metadata.api_versions import ApiVersionsRequest

from minikafka.errors import ErrorCode
from minikafka.testing import open_broker
from tests.integration.quotas_api.quotas_wire import alter, describe, describe_request, entity, send

ALICE = {"user": "alice"}
ALICE_APP = {"user": "alice", "client-id": "app"}


@pytest.mark.parametrize("version", [0, 1])
async def test_alter_then_describe(tmp_path, version):
    async with open_broker(tmp_path) as broker:
        port = broker.bound_ports[0]
        results = await alter(port, [
            (ALICE, {"producer_byte_rate": 1048576, "consumer_byte_rate": 2097152}),
            (ALICE_APP, {"request_percentage": 12.5}),
            ({"user": None}, {"producer_byte_rate": 1024}),
            ({"client-id": None}, {"controller_mutation_rate": 10}),
            ({"ip": "127.0.0.1"}, {"connection_creation_rate": 100}),
        ], version=version)
        assert results == [(ErrorCode.NONE, None)] * 5
        assert await describe(port, version=version) == {
            entity(user="alice"): {"producer_byte_rate": 1048576.0, "consumer_byte_rate": 2097152.0},
            entity(user="alice", client_id="app"): {"request_percentage": 12.5},
            entity(user=None): {"producer_byte_rate": 1024.0},
            entity(client_id=None): {"controller_mutation_rate": 10.0},
            entity(ip="127.0.0.1"): {"connection_creation_rate": 100.0},
        }
        assert set(await describe(port, [("user", 0, "alice")], strict=True, version=version)) == {
            entity(user="alice")}
        assert set(await describe(port, [("user", 1, None)], version=version)) == {entity(user=None)}
        assert set(await describe(port, [("client-id", 2, None)], version=version)) == {
            entity(user="alice", client_id="app"), entity(client_id=None)}
        # The broker's own view, for its quota managers, agrees.
        assert broker.topics.client_quotas()[(("user", "alice"),)] == {
            "producer_byte_rate": 1048576.0, "consumer_byte_rate": 2097152.0}

        assert await alter(port, [(ALICE, {"producer_byte_rate": None, "consumer_byte_rate": None})],
                           version=version) == [(ErrorCode.NONE, None)]
        assert entity(user="alice") not in await describe(port, version=version)


async def test_api_versions_lists_both_apis(tmp_path):
    async with open_broker(tmp_path) as broker:
        request = ApiVersionsRequest(client_software_name="quota-test", client_software_version="1",
                                     version=3)
        response = await send(broker.bound_ports[0], request, 3)
        versions = {a["api_key"]: (a["min_version"], a["max_version"]) for a in response["api_keys"]}
        assert versions[48] == versions[49] == (0, 1)


async def test_validate_only_writes_nothing(tmp_path):
    async with open_broker(tmp_path) as broker:
        port = broker.bound_ports[0]
        offset = broker.metadata.applied_offset
        assert await alter(port, [(ALICE, {"producer_byte_rate": 1000})], validate_only=True) == [
            (ErrorCode.NONE, None)]
        assert await alter(port, [(ALICE, {"producer_byte_rate": -1})], validate_only=True) == [
            (ErrorCode.INVALID_REQUEST, "Quota producer_byte_rate must be greater than 0")]
        await trio.sleep(0.2)
        assert await describe(port) == {}
        assert broker.metadata.applied_offset == offset  # not a single record was written


async def test_bad_entities_keys_and_values_get_kafkas_errors(tmp_path):
    async with open_broker(tmp_path) as broker:
        port = broker.bound_ports[0]
        results = await alter(port, [
            ({"user": "a"}, {"no_such_quota": 10}),
            ({"user": "b"}, {"producer_byte_rate": 0}),
            ({"user": "c"}, {"consumer_byte_rate": 1.5}),
            ({"user": "d"}, {"connection_creation_rate": 5}),
            ({"ip": "nowhere..invalid"}, {"connection_creation_rate": 5}),
            ({"ip": "10.0.0.1", "user": "e"}, {"connection_creation_rate": 5}),
            ({"group": "g"}, {"producer_byte_rate": 10}),
            ({"user": ""}, {"producer_byte_rate": 10}),
            ({"user": "ok"}, {"producer_byte_rate": 10}),
        ])
        assert results == [
            (ErrorCode.INVALID_REQUEST, "Invalid configuration key no_such_quota"),
            (ErrorCode.INVALID_REQUEST, "Quota producer_byte_rate must be greater than 0"),
            (ErrorCode.INVALID_REQUEST, "consumer_byte_rate cannot be a fractional value."),
            (ErrorCode.INVALID_REQUEST, "Invalid configuration key connection_creation_rate"),
            (ErrorCode.INVALID_REQUEST, "nowhere..invalid is not a valid IP or resolvable host."),
            (ErrorCode.INVALID_REQUEST,
             "Invalid quota entity combination, IP entity shouldnot be combined with User or ClientId"),
            (ErrorCode.INVALID_REQUEST, "Unhandled client quota entity type: group"),
            (ErrorCode.INVALID_REQUEST, "Empty user not supported"),
            (ErrorCode.NONE, None),
        ]
        assert await describe(port) == {entity(user="ok"): {"producer_byte_rate": 10.0}}


async def test_bad_describe_filters_get_kafkas_errors(tmp_path):
    async with open_broker(tmp_path) as broker:
        port = broker.bound_ports[0]
        cases = [
            ([("group", 2, None)], ErrorCode.UNSUPPORTED_VERSION, "Unsupported entity type group"),
            ([("user", 0, None)], ErrorCode.INVALID_REQUEST,
             "Request specified MATCH_TYPE_EXACT, but set match string to null."),
            ([("user", 2, None), ("user", 1, None)], ErrorCode.INVALID_REQUEST,
             "Entity type user cannot appear more than once in the filter."),
            ([("ip", 2, None), ("user", 2, None)], ErrorCode.INVALID_REQUEST,
             "Invalid entity filter component combination. IP filter component should not be used "
             "with user or clientId filter component."),
        ]
        for components, code, message in cases:
            for version in (0, 1):
                response = await send(port, describe_request(components, version=version), version)
                assert (response["error_code"], response["error_message"], response["entries"]) == (
                    code, message, None)


async def test_quotas_survive_a_restart_from_the_log_and_from_a_snapshot(tmp_path, autojump_clock):
    async with open_broker(tmp_path) as broker:
        await alter(broker.bound_ports[0], [(ALICE, {"producer_byte_rate": 5000}),
                                            ({"ip": None}, {"connection_creation_rate": 20})])
    expected = {entity(user="alice"): {"producer_byte_rate": 5000.0},
                entity(ip=None): {"connection_creation_rate": 20.0}}
    async with open_broker(tmp_path) as broker:  # replayed from the metadata log
        assert await describe(broker.bound_ports[0]) == expected
        broker.metadata.take_snapshot()
        assert any(name.endswith(".checkpoint") for name in os.listdir(tmp_path / "__cluster_metadata-0"))
    async with open_broker(tmp_path) as broker:  # loaded from the snapshot
        assert broker.metadata.quorum.node.log.log_start_offset > 0
        seen = []
        broker.topics.add_client_quota_listener(seen.append)
        assert seen == [{(("user", "alice"),): {"producer_byte_rate": 5000.0},
                         (("ip", None),): {"connection_creation_rate": 20.0}}]
        assert await describe(broker.bound_ports[0]) == expected
