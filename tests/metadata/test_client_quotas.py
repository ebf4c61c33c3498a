"""Client quotas in the metadata log: AlterClientQuotas on the controller, replay,
snapshots, DescribeClientQuotas filters and the broker-side quota listeners.

Each controller scenario also replays the records written into a fresh image
(what every broker does) and compares it with the controller's.
"""

import math

import pytest

from metadata_helpers import Harness
from minikafka.config import BrokerConfig
from minikafka.errors import ErrorCode
from minikafka.metadata import MetadataImage, decode_record, encode_record
from minikafka.metadata import records as r
from minikafka.metadata.forwarding import FORWARDED
from minikafka.metadata.quota_control import describe_client_quotas
from minikafka.metadata.topics import TopicRegistry
from minikafka.protocol import messages

ALICE = (("user", "alice"),)
ALICE_APP = (("client-id", "app"), ("user", "alice"))


@pytest.fixture
def h():
    harness = Harness(brokers=1)
    yield harness
    assert harness.replayed() == harness.image


def entity(*pairs):
    return [{"entity_type": t, "entity_name": n} for t, n in pairs]


def op(key, value=0.0, remove=False):
    return {"key": key, "value": value, "remove": remove}


def alter(h, *entries, validate_only=False):
    request = {"entries": [{"entity": entity(*pairs), "ops": ops} for pairs, ops in entries],
               "validate_only": validate_only}
    records_before = len(h.log)
    response = h.run(h.controller.alter_client_quotas(request, h.now_ms))
    return response["entries"], h.log[records_before:]


def test_set_writes_one_record_per_key_and_replays(h):
    entries, records = alter(h, ([("user", "alice")], [op("producer_byte_rate", 1024),
                                                        op("request_percentage", 12.5)]))
    assert entries == [{"error_code": ErrorCode.NONE, "error_message": None,
                        "entity": [{"entity_type": "user", "entity_name": "alice"}]}]
    assert records == [r.ClientQuotaRecord(ALICE, "producer_byte_rate", 1024.0),
                       r.ClientQuotaRecord(ALICE, "request_percentage", 12.5)]
    assert h.image.client_quotas == {ALICE: {"producer_byte_rate": 1024.0, "request_percentage": 12.5}}


def test_entity_components_are_sorted_by_type_and_defaults_are_none(h):
    alter(h, ([("user", "alice"), ("client-id", "app")], [op("consumer_byte_rate", 10)]),
          ([("user", None), ("client-id", None)], [op("consumer_byte_rate", 20)]),
          ([("ip", None)], [op("connection_creation_rate", 5)]))
    assert h.image.client_quotas == {
        ALICE_APP: {"consumer_byte_rate": 10.0},
        (("client-id", None), ("user", None)): {"consumer_byte_rate": 20.0},
        (("ip", None),): {"connection_creation_rate": 5.0},
    }


def test_only_changed_values_are_written_and_removal_drops_the_entity(h):
    alter(h, ([("user", "alice")], [op("producer_byte_rate", 100), op("consumer_byte_rate", 200)]))
    _, records = alter(h, ([("user", "alice")], [op("producer_byte_rate", 100), op("consumer_byte_rate", 300)]))
    assert records == [r.ClientQuotaRecord(ALICE, "consumer_byte_rate", 300.0)]
    _, records = alter(h, ([("user", "alice")], [op("producer_byte_rate", remove=True),
                                                 op("request_percentage", remove=True)]))
    assert records == [r.ClientQuotaRecord(ALICE, "producer_byte_rate", remove=True)]  # unset key: nothing
    _, records = alter(h, ([("user", "alice")], [op("consumer_byte_rate", remove=True)]))
    assert len(records) == 1 and h.image.client_quotas == {}


def test_removing_an_unknown_key_is_not_validated(h):
    entries, records = alter(h, ([("user", "alice")], [op("no_such_key", remove=True)]))
    assert entries[0]["error_code"] == ErrorCode.NONE and records == []


def test_validate_only_checks_but_writes_nothing(h):
    entries, records = alter(h, ([("user", "alice")], [op("producer_byte_rate", 1000)]),
                             ([("user", "bob")], [op("producer_byte_rate", -1)]), validate_only=True)
    assert [e["error_code"] for e in entries] == [ErrorCode.NONE, ErrorCode.INVALID_REQUEST]
    assert records == [] and h.image.client_quotas == {}


def test_a_bad_entity_does_not_stop_the_others(h):
    entries, _ = alter(h, ([("user", "bob")], [op("producer_byte_rate", 1), op("consumer_byte_rate", 0.5)]),
                       ([("user", "alice")], [op("producer_byte_rate", 1000)]))
    assert [e["error_code"] for e in entries] == [ErrorCode.INVALID_REQUEST, ErrorCode.NONE]
    assert h.image.client_quotas == {ALICE: {"producer_byte_rate": 1000.0}}  # bob: nothing at all


@pytest.mark.parametrize("pairs, ops, message", [
    ([], [op("producer_byte_rate", 1)], "Invalid empty client quota entity"),
    ([("group", "g")], [op("producer_byte_rate", 1)], "Unhandled client quota entity type: group"),
    ([("user", "")], [op("producer_byte_rate", 1)], "Empty user not supported"),
    ([("client-id", "")], [op("producer_byte_rate", 1)], "Empty client-id not supported"),
    ([("user", "a"), ("user", "b")], [op("producer_byte_rate", 1)],
     "Invalid client quota entity, duplicate entity entry user"),
    ([("ip", "10.0.0.1"), ("user", "a")], [op("connection_creation_rate", 1)],
     "Invalid quota entity combination, IP entity shouldnot be combined with User or ClientId"),
    ([("ip", "not an address")], [op("connection_creation_rate", 1)],
     "not an address is not a valid IP or resolvable host."),
    ([("user", "a")], [op("connection_creation_rate", 1)], "Invalid configuration key connection_creation_rate"),
    ([("ip", "::1")], [op("producer_byte_rate", 1)], "Invalid configuration key producer_byte_rate"),
    ([("user", "a")], [op("bogus", 1)], "Invalid configuration key bogus"),
    ([("user", "a")], [op("producer_byte_rate", 0)], "Quota producer_byte_rate must be greater than 0"),
    ([("user", "a")], [op("request_percentage", -5)], "Quota request_percentage must be greater than 0"),
    ([("user", "a")], [op("controller_mutation_rate", math.nan)],
     "Quota controller_mutation_rate must be greater than 0"),
    ([("user", "a")], [op("producer_byte_rate", 10.5)], "producer_byte_rate cannot be a fractional value."),
    ([("user", "a")], [op("consumer_byte_rate", 1e19)],
     "Proposed value for consumer_byte_rate is too large for a LONG."),
    ([("ip", None)], [op("connection_creation_rate", 2.0**31)],
     "Proposed value for connection_creation_rate is too large for an INT."),
    ([("ip", None)], [op("connection_creation_rate", 1.25)],
     "connection_creation_rate cannot be a fractional value."),
    ([("user", "a")], [op("producer_byte_rate", "fast")],
     "Invalid value fast for configuration producer_byte_rate: Not a number of type LONG"),
    ([("user", "a")], [op("request_percentage", None)],
     "Invalid value None for configuration request_percentage: Not a number of type DOUBLE"),
    ([("user", "a")], [op("producer_byte_rate", 1), op("producer_byte_rate", 2)],
     "Duplicate quota key producer_byte_rate not updating quota for this entity "
     "ClientQuotaEntity(entries={user=a})"),
])
def test_validation_errors_have_kafkas_messages(h, pairs, ops, message):
    entries, records = alter(h, (pairs, ops))
    assert (entries[0]["error_code"], entries[0]["error_message"]) == (ErrorCode.INVALID_REQUEST, message)
    assert entries[0]["entity"] == entity(*pairs)
    assert records == [] and h.image.client_quotas == {}


def test_values_kafka_accepts(h):
    entries, _ = alter(h, ([("user", "a")], [op("request_percentage", 0.001), op("controller_mutation_rate", 1e300),
                                             op("producer_byte_rate", 9.0e18)]),
                       ([("ip", "2001:db8::1")], [op("connection_creation_rate", 2**31 - 1)]))
    assert [e["error_code"] for e in entries] == [ErrorCode.NONE, ErrorCode.NONE]


def test_an_entity_twice_in_one_request_is_refused(h):
    entries, records = alter(h, ([("user", "a"), ("client-id", "c")], [op("producer_byte_rate", 1)]),
                             ([("client-id", "c"), ("user", "a")], [op("consumer_byte_rate", 1)]))
    assert [e["error_message"] for e in entries] == [
        "Ignoring duplicate entity ClientQuotaEntity(entries={user=a, client-id=c})",
        "Ignoring duplicate entity ClientQuotaEntity(entries={client-id=c, user=a})"]
    assert records == []


# --- records, snapshots ------------------------------------------------------------------


def test_record_encoding_round_trip():
    for record in (r.ClientQuotaRecord(ALICE_APP, "producer_byte_rate", 1024.0),
                   r.ClientQuotaRecord((("ip", None),), "connection_creation_rate", remove=True)):
        assert decode_record(encode_record(record)) == record
    assert r.RECORD_TYPES[14] is r.ClientQuotaRecord


def test_snapshot_and_copy_keep_client_quotas(h):
    alter(h, ([("user", "alice")], [op("producer_byte_rate", 100)]),
          ([("user", None), ("client-id", "app")], [op("request_percentage", 50)]),
          ([("ip", "10.1.2.3")], [op("connection_creation_rate", 3)]))
    snapshot = [decode_record(encode_record(rec)) for rec in h.image.to_records()]
    rebuilt = MetadataImage.from_records(snapshot)
    assert rebuilt == h.image and rebuilt.client_quotas == h.image.client_quotas
    copy = h.image.copy()
    copy.apply(r.ClientQuotaRecord(ALICE, "producer_byte_rate", remove=True))
    assert ALICE in h.image.client_quotas and ALICE not in copy.client_quotas


def test_snapshot_records_sort_default_names_first():
    image = MetadataImage()
    image.apply(r.ClientQuotaRecord((("user", "b"),), "producer_byte_rate", 1.0))
    image.apply(r.ClientQuotaRecord((("user", None),), "producer_byte_rate", 2.0))
    assert [rec.entity for rec in image.to_records()] == [(("user", None),), (("user", "b"),)]


# --- DescribeClientQuotas ----------------------------------------------------------------

QUOTAS = {
    (("user", "alice"),): {"producer_byte_rate": 1.0},
    (("user", None),): {"producer_byte_rate": 2.0},
    (("client-id", "app"), ("user", "alice")): {"consumer_byte_rate": 3.0},
    (("client-id", "app"),): {"request_percentage": 4.0},
    (("ip", "10.0.0.1"),): {"connection_creation_rate": 5.0},
}


def describe(components, strict=False, quotas=QUOTAS):
    request = {"components": [{"entity_type": t, "match_type": m, "match": s} for t, m, s in components],
               "strict": strict}
    return describe_client_quotas(quotas, request)


def found(response):
    assert response["error_code"] == ErrorCode.NONE
    return [tuple((e["entity_type"], e["entity_name"]) for e in entry["entity"]) for entry in response["entries"]]


def test_describe_everything():
    response = describe([])
    assert set(found(response)) == set(QUOTAS) and len(response["entries"]) == len(QUOTAS)
    entry = next(e for e in response["entries"] if e["entity"] == entity(("ip", "10.0.0.1")))
    assert entry["values"] == [{"key": "connection_creation_rate", "value": 5.0}]
    assert found(describe([], strict=True)) == []


def test_describe_exact_default_and_any_matches():
    assert set(found(describe([("user", 0, "alice")]))) == {
        (("user", "alice"),), (("client-id", "app"), ("user", "alice"))}
    assert found(describe([("user", 0, "alice")], strict=True)) == [(("user", "alice"),)]
    assert found(describe([("user", 1, None)])) == [(("user", None),)]
    assert found(describe([("user", 2, None)], strict=True)) == [(("user", None),), (("user", "alice"),)]
    assert found(describe([("user", 2, None), ("client-id", 0, "app")], strict=True)) == [
        (("client-id", "app"), ("user", "alice"))]
    assert found(describe([("client-id", 2, None)])) == [(("client-id", "app"),),
                                                         (("client-id", "app"), ("user", "alice"))]
    assert found(describe([("ip", 2, None)])) == [(("ip", "10.0.0.1"),)]
    assert found(describe([("user", 0, "nobody")])) == []


@pytest.mark.parametrize("components, code, message", [
    ([("", 2, None)], ErrorCode.INVALID_REQUEST, "Invalid empty entity type."),
    ([("user", 2, None), ("user", 0, "a")], ErrorCode.INVALID_REQUEST,
     "Entity type user cannot appear more than once in the filter."),
    ([("group", 2, None)], ErrorCode.UNSUPPORTED_VERSION, "Unsupported entity type group"),
    ([("user", 0, None)], ErrorCode.INVALID_REQUEST,
     "Request specified MATCH_TYPE_EXACT, but set match string to null."),
    ([("user", 1, "a")], ErrorCode.INVALID_REQUEST,
     "Request specified MATCH_TYPE_DEFAULT, but also specified a match string."),
    ([("user", 2, "a")], ErrorCode.INVALID_REQUEST,
     "Request specified MATCH_TYPE_SPECIFIED, but also specified a match string."),
    ([("user", 7, None)], ErrorCode.INVALID_REQUEST, "Unknown match type 7"),
    ([("ip", 2, None), ("client-id", 1, None)], ErrorCode.INVALID_REQUEST,
     "Invalid entity filter component combination. IP filter component should not be used with "
     "user or clientId filter component."),
])
def test_describe_filter_errors(components, code, message):
    response = describe(components)
    assert (response["error_code"], response["error_message"], response["entries"]) == (code, message, None)


# --- the broker's view: TopicRegistry ----------------------------------------------------


class FakeMetadataRuntime:
    """What TopicRegistry reads of a MetadataRuntime: the image and the publish hook."""

    def __init__(self):
        self.image = MetadataImage()
        self.published = []
        self.on_publish = self.published.append
        self.active_controller_id = None

    def commit(self, *records):
        for record in records:
            self.image.apply(record)
        self.on_publish(self.image)

    def load_snapshot(self, records):
        self.image = MetadataImage.from_records(records)
        self.on_publish(self.image)


def test_registry_tells_listeners_about_committed_quota_changes():
    runtime = FakeMetadataRuntime()
    runtime.commit(r.ClientQuotaRecord(ALICE, "producer_byte_rate", 10.0))
    registry = TopicRegistry(BrokerConfig({"node.id": 1}), runtime)
    calls = []
    registry.add_client_quota_listener(calls.append)
    assert calls == [{ALICE: {"producer_byte_rate": 10.0}}]  # the current state, at once
    runtime.commit(r.FeatureLevelRecord("metadata.version", 25))  # no quota change: no call
    assert len(calls) == 1
    runtime.commit(r.ClientQuotaRecord(ALICE, "producer_byte_rate", 20.0))
    assert calls[-1] == {ALICE: {"producer_byte_rate": 20.0}} == registry.client_quotas()
    runtime.load_snapshot([r.ClientQuotaRecord((("ip", None),), "connection_creation_rate", 7.0)])
    assert calls[-1] == {(("ip", None),): {"connection_creation_rate": 7.0}}
    assert len(runtime.published) == 4  # what the runtime published before still runs
    calls[-1].clear()  # listeners get copies, never the image's dicts
    assert registry.client_quotas() == {(("ip", None),): {"connection_creation_rate": 7.0}}


# --- forwarding to the controller ------------------------------------------------------------


def test_forwarded_error_response_names_every_entity_and_encodes_at_the_forwarded_version():
    api = FORWARDED["alter_client_quotas"]
    assert (api.api_key, api.version, api.results) == (49, 1, "entries")
    request = {"entries": [{"entity": entity(("user", "a"), ("client-id", None)),
                            "ops": [op("producer_byte_rate", 1)]}], "validate_only": False}
    wire = messages.ALTER_CLIENT_QUOTAS_REQUEST.encode(request, api.version)
    decoded = messages.ALTER_CLIENT_QUOTAS_REQUEST.decode(wire, api.version)
    error = {"throttle_time_ms": 0, **api.error_response(decoded, ErrorCode.NOT_CONTROLLER, "moved")}
    response = messages.ALTER_CLIENT_QUOTAS_RESPONSE.decode(
        messages.ALTER_CLIENT_QUOTAS_RESPONSE.encode(error, api.version), api.version)
    [entry] = response.entries
    assert (entry.error_code, entry.error_message) == (ErrorCode.NOT_CONTROLLER, "moved")
    assert [(e.entity_type, e.entity_name) for e in entry.entity] == [("user", "a"), ("client-id", None)]
