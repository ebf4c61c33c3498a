"""The registry group's metadata and assignment JSON, and who leads (Confluent's rules)."""

from __future__ import annotations

import json

import pytest

from minikafka.registry.election import (DUPLICATE_URLS, NO_ERROR, Identity, choose_leader,
                                         decode_assignment, decode_identity, encode_assignment,
                                         encode_identity)
from minikafka.registry.server import RegistryConfig, RegistryConfigError, parse_listener


def test_identity_is_confluents_json():
    identity = Identity("10.0.0.5", 8081, True)
    assert json.loads(encode_identity(identity)) == {
        "version": 1, "host": "10.0.0.5", "port": 8081, "master_eligibility": True, "scheme": "http"}
    assert decode_identity(encode_identity(identity)) == identity
    assert identity.url == "http://10.0.0.5:8081"


def test_the_eligible_member_with_the_smallest_url_leads():
    members = {"m-1": Identity("b-host", 8081), "m-2": Identity("a-host", 8081, False),
               "m-3": Identity("c-host", 8081)}
    assert choose_leader(members) == (NO_ERROR, "m-1", members["m-1"])


def test_no_eligible_member_means_no_leader_and_duplicate_urls_are_reported():
    assert choose_leader({"m-1": Identity("h", 1, False)}) == (NO_ERROR, None, None)
    error, leader, _ = choose_leader({"m-1": Identity("h", 1), "m-2": Identity("h", 1)})
    assert error == DUPLICATE_URLS and leader in ("m-1", "m-2")


def test_assignment_names_the_leader_as_confluent_does():
    leader = Identity("h", 8081)
    raw = encode_assignment(NO_ERROR, "m-1", leader)
    assert json.loads(raw) == {"version": 1, "error": 0, "master": "m-1",
                               "master_identity": leader.to_json()}
    assert decode_assignment(raw) == (NO_ERROR, leader)
    assert decode_assignment(encode_assignment(NO_ERROR, None, None)) == (NO_ERROR, None)


def test_config_takes_confluents_keys():
    config = RegistryConfig.from_properties({
        "kafkastore.bootstrap.servers": "PLAINTEXT://k1:9092,PLAINTEXT://k2:9092",
        "listeners": "http://0.0.0.0:8085", "host.name": "registry-1", "leader.eligibility": "false"})
    assert config.bootstrap == "k1:9092,k2:9092"
    assert (config.listen_host, config.listen_port) == ("0.0.0.0", 8085)
    assert config.advertised_host() == "registry-1"
    assert config.leader_eligibility is False
    assert (config.topic, config.group_id) == ("_schemas", "schema-registry")
    assert parse_listener("127.0.0.1:8081") == ("http", "127.0.0.1", 8081)


def test_config_needs_bootstrap_servers():
    with pytest.raises(RegistryConfigError, match="kafkastore.bootstrap.servers"):
        RegistryConfig.from_properties({})
