"""Admin.describe_client_quotas / alter_client_quotas against real minikafka brokers."""

from __future__ import annotations

import pytest
import trio

from minikafka.errors import ErrorCode, KafkaError
from minikafka.testing import BrokerThread, bootstrap_servers, open_broker, open_cluster
from minikafka_clients import (Admin, ClientQuotaAlteration, ClientQuotaEntity, ClientQuotaFilter,
                               ClientQuotaFilterComponent, SyncAdmin)

Op = ClientQuotaAlteration.Op
USER, CLIENT_ID = ClientQuotaEntity.USER, ClientQuotaEntity.CLIENT_ID
ALICE_ANY_CLIENT = ClientQuotaEntity({USER: "alice", CLIENT_ID: None})
APP = ClientQuotaEntity({CLIENT_ID: "app"})
DEFAULT_USER = ClientQuotaEntity({USER: None})


@pytest.fixture
async def admin(tmp_path):
    async with open_broker(tmp_path / "data") as broker:
        config = {"bootstrap.servers": bootstrap_servers(broker), "default.api.timeout.ms": 5000}
        async with Admin(config) as client:
            yield client


async def _set_three(admin) -> None:
    await admin.alter_client_quotas([
        ClientQuotaAlteration(ALICE_ANY_CLIENT, [Op("producer_byte_rate", 1024)]),
        ClientQuotaAlteration(APP, [Op("consumer_byte_rate", 2048), Op("request_percentage", 25.5)]),
        ClientQuotaAlteration(DEFAULT_USER, [Op("producer_byte_rate", 4096)]),
    ])


async def test_alter_then_describe_round_trip(admin):
    assert await admin.describe_client_quotas() == {}
    await _set_three(admin)
    assert await admin.describe_client_quotas(ClientQuotaFilter.all()) == {
        ALICE_ANY_CLIENT: {"producer_byte_rate": 1024.0},
        APP: {"consumer_byte_rate": 2048.0, "request_percentage": 25.5},
        DEFAULT_USER: {"producer_byte_rate": 4096.0},
    }


async def test_filters_match_as_kafkas_do(admin):
    await _set_three(admin)
    of_entity = ClientQuotaFilterComponent.of_entity
    assert set(await admin.describe_client_quotas([of_entity(USER, "alice")])) == {ALICE_ANY_CLIENT}
    assert set(await admin.describe_client_quotas(
        [ClientQuotaFilterComponent.of_default_entity(USER)])) == {DEFAULT_USER}
    # Any entity that names a user (a KRaft broker counts the default user
    # too); strict leaves out alice's entity, which also names a client id.
    specified_user = [ClientQuotaFilterComponent.of_entity_type(USER)]
    assert set(await admin.describe_client_quotas(specified_user)) == {ALICE_ANY_CLIENT,
                                                                       DEFAULT_USER}
    assert set(await admin.describe_client_quotas(specified_user, strict=True)) == {DEFAULT_USER}
    assert set(await admin.describe_client_quotas(
        ClientQuotaFilter.contains_only([of_entity(CLIENT_ID, "app")]))) == {APP}


async def test_a_value_of_none_removes_the_key_and_validate_only_changes_nothing(admin):
    await _set_three(admin)
    await admin.alter_client_quotas([ClientQuotaAlteration(APP, [Op("request_percentage", None)])])
    await admin.alter_client_quotas([ClientQuotaAlteration(DEFAULT_USER,
                                                           [Op("producer_byte_rate", None)])])
    await admin.alter_client_quotas([ClientQuotaAlteration(APP, [Op("consumer_byte_rate", 1)])],
                                    validate_only=True)
    assert await admin.describe_client_quotas() == {
        ALICE_ANY_CLIENT: {"producer_byte_rate": 1024.0},
        APP: {"consumer_byte_rate": 2048.0},  # and no entity is left without values
    }


async def test_errors_carry_kafkas_code_and_message(admin):
    with pytest.raises(KafkaError) as info:
        await admin.alter_client_quotas([ClientQuotaAlteration(APP, [Op("bogus_rate", 1)])])
    assert info.value.code == ErrorCode.INVALID_REQUEST
    assert info.value.message == "Invalid configuration key bogus_rate"
    with pytest.raises(KafkaError) as info:
        await admin.describe_client_quotas([ClientQuotaFilterComponent.of_entity("group", "g")])
    assert info.value.code == ErrorCode.UNSUPPORTED_VERSION
    assert "group" in info.value.message
    assert await admin.describe_client_quotas() == {}  # the bad alteration changed nothing


async def test_any_broker_takes_an_alteration_and_every_broker_describes_it(tmp_path):
    async with open_cluster(tmp_path, brokers=3) as cluster:
        controller = cluster.active_controller()
        others = [b for b in cluster.brokers.values() if b is not controller]
        for value, broker in enumerate(others, start=1):
            async with Admin({"bootstrap.servers": bootstrap_servers(broker),
                              "default.api.timeout.ms": 10_000}) as admin:
                await admin.alter_client_quotas(
                    [ClientQuotaAlteration(APP, [Op("producer_byte_rate", 1000 * value)])])
        expected = {APP: {"producer_byte_rate": 1000.0 * len(others)}}
        for broker in cluster.brokers.values():
            async with Admin({"bootstrap.servers": bootstrap_servers(broker)}) as admin:
                seen = await _eventually(admin.describe_client_quotas, expected)
                assert seen == expected


async def _eventually(describe, expected, timeout_s: float = 10.0):
    """Describe until the broker's metadata image has caught up (or time runs out)."""
    with trio.move_on_after(timeout_s):
        while (seen := await describe()) != expected:
            await trio.sleep(0.05)
    return seen


def test_the_blocking_admin_alters_and_describes_too(tmp_path):
    with BrokerThread(tmp_path / "data") as broker_thread:
        with SyncAdmin({"bootstrap.servers": broker_thread.bootstrap}) as admin:
            admin.alter_client_quotas([ClientQuotaAlteration(APP, [Op("consumer_byte_rate", 512)])])
            assert admin.describe_client_quotas(
                ClientQuotaFilter.contains([ClientQuotaFilterComponent.of_entity(CLIENT_ID, "app")])
            ) == {APP: {"consumer_byte_rate": 512.0}}
