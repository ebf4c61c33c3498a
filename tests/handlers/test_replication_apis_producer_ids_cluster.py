"""Producer ids are unique across a cluster: AllocateProducerIds (67) and InitProducerId (22) on real sockets."""

from __future__ import annotations

from minikafka.errors import ErrorCode
from minikafka.testing import open_cluster
from replication_apis_wire import ALLOCATE_PRODUCER_IDS, INIT_PRODUCER_ID, broker_epoch, call, controller_and_other

INIT_BODY = {"transactional_id": None, "transaction_timeout_ms": 60000, "producer_id": -1, "producer_epoch": -1}


async def init_producer_id(broker) -> int:
    response = await call(broker, INIT_PRODUCER_ID, 4, INIT_BODY)
    assert (response["error_code"], response["producer_epoch"]) == (ErrorCode.NONE, 0)
    return response["producer_id"]


async def test_allocate_producer_ids_hands_out_disjoint_blocks(tmp_path, autojump_clock):
    async with open_cluster(tmp_path, brokers=3) as cluster:
        controller, other = controller_and_other(cluster)
        blocks = []
        for node_id in cluster.brokers:
            body = {"broker_id": node_id, "broker_epoch": broker_epoch(controller, node_id)}
            response = await call(controller, ALLOCATE_PRODUCER_IDS, 0, body)
            assert response["error_code"] == ErrorCode.NONE
            blocks.append(range(response["producer_id_start"],
                                response["producer_id_start"] + response["producer_id_len"]))
        assert [len(b) for b in blocks] == [1000] * 3
        assert len(set().union(*blocks)) == 3000
        body = {"broker_id": other.node_id, "broker_epoch": broker_epoch(controller, other.node_id)}
        assert (await call(other, ALLOCATE_PRODUCER_IDS, 0, body))["error_code"] == ErrorCode.NOT_CONTROLLER
        stale = {**body, "broker_epoch": body["broker_epoch"] - 1}
        assert (await call(controller, ALLOCATE_PRODUCER_IDS, 0, stale))["error_code"] == ErrorCode.STALE_BROKER_EPOCH


async def test_init_producer_id_is_unique_across_brokers_restarts_and_failover(tmp_path, autojump_clock):
    async with open_cluster(tmp_path, brokers=3) as cluster:
        seen = []
        for broker in cluster.brokers.values():
            seen += [await init_producer_id(broker) for _ in range(3)]
        assert len(set(seen)) == len(seen)
        # A restarted broker never reuses the ids of its earlier block.
        restarted = next(n for n, b in cluster.brokers.items() if not b.metadata.is_active)
        await cluster.stop(restarted)
        await cluster.start(restarted)
        seen.append(await init_producer_id(cluster.brokers[restarted]))
        # Nor after the controller moved: the counter is in the metadata log, so the
        # new controller's blocks follow the old one's.
        old_controller = cluster.active_controller().node_id
        await cluster.stop(old_controller)
        await cluster.wait_for(lambda: cluster.active_controller() is not None)
        await cluster.start(old_controller)  # asks the new controller for a block
        for broker in cluster.brokers.values():
            seen.append(await init_producer_id(broker))
        assert len(set(seen)) == len(seen)
