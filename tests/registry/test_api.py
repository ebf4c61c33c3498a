"""The REST API over real HTTP: Hypercorn on a free port serving create_app, httpx as the client."""

import base64
import json
from types import SimpleNamespace

import httpx
from google.protobuf import descriptor_pb2

from minikafka.registry.app import CONTENT_TYPE
from minikafka.registry.service import RegistryService

from .conftest import ORDER_V1, USER_V1, USER_V2_DEFAULT, USER_V2_NO_DEFAULT, serving_registry

SR_JSON = {"Content-Type": CONTENT_TYPE}


def error_of(response: httpx.Response) -> tuple[int, int]:
    assert response.headers["content-type"].startswith("application/vnd.schemaregistry.v1+json")
    body = response.json()
    assert isinstance(body["message"], str) and body["message"]
    return response.status_code, body["error_code"]


async def test_register_read_lookup_and_ids(service):
    async with serving_registry(service) as url, httpx.AsyncClient(base_url=url) as http:
        r = await http.post("/subjects/users-value/versions", json={"schema": USER_V1}, headers=SR_JSON)
        assert (r.status_code, r.json()) == (200, {"id": 1})
        assert r.headers["content-type"] == CONTENT_TYPE
        r = await http.post("/subjects/users-value/versions?normalize=False",
                            json={"schema": USER_V2_DEFAULT, "schemaType": "AVRO", "references": []})
        assert r.json() == {"id": 2}
        assert (await http.get("/subjects")).json() == ["users-value"]
        assert (await http.get("/subjects/users-value/versions")).json() == [1, 2]
        latest = (await http.get("/subjects/users-value/versions/latest")).json()
        assert (latest["subject"], latest["version"], latest["id"]) == ("users-value", 2, 2)
        assert "schemaType" not in latest            # AVRO is left out, as Confluent does
        assert (await http.get("/subjects/users-value/versions/-1")).json() == latest
        raw = await http.get("/subjects/users-value/versions/1/schema")
        assert json.loads(raw.text) == json.loads(USER_V1)
        r = await http.post("/subjects/users-value", json={"schema": USER_V1})
        assert (r.json()["version"], r.json()["id"]) == (1, 1)
        assert json.loads((await http.get("/schemas/ids/2")).json()["schema"]) == json.loads(USER_V2_DEFAULT)
        assert json.loads((await http.get("/schemas/ids/1/schema")).text) == json.loads(USER_V1)
        assert (await http.get("/schemas/ids/1/subjects")).json() == ["users-value"]
        assert (await http.get("/schemas/ids/1/versions")).json() == [{"subject": "users-value", "version": 1}]
        assert sorted((await http.get("/schemas/types")).json()) == ["AVRO", "JSON", "PROTOBUF"]
        assert len((await http.get("/schemas?latestOnly=true")).json()) == 1
        assert (await http.get("/subjects?subjectPrefix=orders")).json() == []
        assert (await http.get("/")).json() == {}
        meta = (await http.get("/v1/metadata/id")).json()
        assert meta["scope"]["clusters"]["schema-registry-cluster"] == "schema-registry"


async def test_compatibility_config_mode_and_deletes(service):
    async with serving_registry(service) as url, httpx.AsyncClient(base_url=url) as http:
        await http.post("/subjects/u/versions", json={"schema": USER_V1})
        r = await http.post("/subjects/u/versions", json={"schema": USER_V2_NO_DEFAULT})
        assert error_of(r) == (409, 40901)
        assert "email" in r.json()["message"]
        r = await http.post("/compatibility/subjects/u/versions/latest?verbose=true",
                            json={"schema": USER_V2_NO_DEFAULT})
        assert r.json()["is_compatible"] is False and r.json()["messages"]
        r = await http.post("/compatibility/subjects/u/versions", json={"schema": USER_V2_DEFAULT})
        assert r.json() == {"is_compatible": True}
        assert error_of(await http.post("/compatibility/subjects/u/versions/7",
                                        json={"schema": USER_V1})) == (404, 40402)

        assert (await http.get("/config")).json() == {"compatibilityLevel": "BACKWARD"}
        assert (await http.put("/config", json={"compatibility": "FULL"})).json() == {"compatibility": "FULL"}
        assert error_of(await http.get("/config/u")) == (404, 40408)
        assert (await http.get("/config/u?defaultToGlobal=true")).json() == {"compatibilityLevel": "FULL"}
        assert (await http.put("/config/u", json={"compatibility": "none"})).json() == {"compatibility": "NONE"}
        assert error_of(await http.put("/config/u", json={"compatibility": "SOME"})) == (422, 42203)
        assert (await http.delete("/config/u")).json() == {"compatibilityLevel": "NONE"}
        assert (await http.delete("/config")).json() == {"compatibilityLevel": "FULL"}

        assert (await http.get("/mode")).json() == {"mode": "READWRITE"}
        assert (await http.put("/mode/u", json={"mode": "READONLY"})).json() == {"mode": "READONLY"}
        assert error_of(await http.post("/subjects/u/versions", json={"schema": ORDER_V1})) == (422, 42205)
        assert error_of(await http.put("/mode", json={"mode": "IMPORT"})) == (422, 42205)
        assert error_of(await http.put("/mode", json={"mode": "NAP"})) == (422, 42204)
        assert (await http.delete("/mode/u")).json() == {"mode": "READONLY"}
        assert error_of(await http.get("/mode/u")) == (404, 40409)

        assert error_of(await http.delete("/subjects/u/versions/1?permanent=true")) == (404, 40407)
        assert (await http.delete("/subjects/u/versions/1")).json() == 1
        assert error_of(await http.delete("/subjects/u/versions/1")) == (404, 40406)
        assert (await http.get("/subjects/u/versions?deleted=true")).json() == [1]
        # Confluent's deletedOnly, and confluent-kafka's Python spelling of it
        assert (await http.get("/subjects/u/versions?deletedOnly=true")).json() == [1]
        assert (await http.get("/subjects?deletedOnly=true")).json() == ["u"]
        assert (await http.get("/subjects?deleted_only=true")).json() == ["u"]
        assert (await http.get("/subjects/u/versions/1?deleted=true")).json()["version"] == 1
        assert (await http.delete("/subjects/u/versions/1?permanent=true")).json() == 1
        assert error_of(await http.get("/subjects/u/versions")) == (404, 40401)


async def test_bad_input_gets_confluents_errors_never_a_500(service):
    async with serving_registry(service, max_request_bytes=64 * 1024) as url, \
            httpx.AsyncClient(base_url=url) as http:
        post = "/subjects/s/versions"
        assert error_of(await http.post(post, content=b"{not json", headers=SR_JSON)) == (400, 400)
        assert error_of(await http.post(post, content=b"\xff\xfe", headers=SR_JSON)) == (400, 400)
        assert error_of(await http.post(post, json=["schema"])) == (422, 422)
        assert error_of(await http.post(post, content=b"[" * 30_000 + b"]" * 30_000)) == (400, 400)
        deep_schema = '{"type": "array", "items": ' * 1_500 + '"int"' + "}" * 1_500
        assert error_of(await http.post(post, json={"schema": deep_schema})) == (422, 42201)
        assert error_of(await http.post(post, json={"schema": 7})) == (422, 42201)
        assert error_of(await http.post(post, json={})) == (422, 42201)
        assert error_of(await http.post(post, content=b"")) == (422, 422)
        assert error_of(await http.post(post, json={"schema": '{"type": "recor"}'})) == (422, 42201)
        assert error_of(await http.post(post, json={"schema": "{}", "schemaType": "XML"})) == (422, 42201)
        assert error_of(await http.post(post, json={"schema": USER_V1, "references": "x"})) == (422, 422)
        assert error_of(await http.post(post, json={"schema": "syntax = \"proto3\"; message {",
                                                    "schemaType": "PROTOBUF"})) == (422, 42201)
        assert error_of(await http.post(post, content=json.dumps({"schema": USER_V1}),
                                        headers={"Content-Type": "text/plain"})) == (415, 415)
        assert error_of(await http.post(post, data={"schema": USER_V1})) == (415, 415)   # a form post
        r = await http.post(post, content=json.dumps({"schema": USER_V1}),
                            headers={"Content-Type": "application/json; charset=utf-8"})
        assert r.json() == {"id": 1}
        r = await http.post(post, content=json.dumps({"schema": USER_V1}), headers={"Content-Type": ""})
        assert r.json() == {"id": 1}

        huge = json.dumps({"schema": json.dumps({"type": "enum", "name": "E",
                                                 "symbols": [f"S{i}" for i in range(50_000)]})})
        r = await http.post(post, content=huge, headers=SR_JSON)
        assert error_of(r) == (413, 413) and "65536" in r.json()["message"]

        assert error_of(await http.get("/subjects/nope/versions/1")) == (404, 40401)
        assert error_of(await http.get("/subjects/s/versions/9")) == (404, 40402)
        assert error_of(await http.get("/subjects/s/versions/nine")) == (422, 42202)
        assert error_of(await http.get("/subjects/s/versions/0")) == (422, 42202)
        assert error_of(await http.get("/schemas/ids/77")) == (404, 40403)
        assert error_of(await http.get("/schemas/ids/abc")) == (404, 404)
        assert error_of(await http.post("/subjects/s", json={"schema": ORDER_V1})) == (404, 40403)
        assert error_of(await http.get("/no/such/route")) == (404, 404)
        assert error_of(await http.patch("/subjects")) == (405, 405)
        assert error_of(await http.put("/config", json="FULL")) == (422, 42203)
        assert error_of(await http.put("/mode", content=b"[1,")) == (400, 400)
        # the registry still answers after all that
        assert (await http.get("/subjects")).json() == ["s"]


async def test_a_follower_forwards_writes_and_answers_reads(memory_log):
    class Follower:
        def is_leader(self):
            return False

        def leader_url(self):
            return "http://leader.example:8081"

    forwarded = []

    async def forward(method, path, query, body, headers):
        forwarded.append((method, path, query, json.loads(body) if body else None))
        return SimpleNamespace(status_code=200, body=b'{"id":9}', content_type=CONTENT_TYPE)

    follower = RegistryService(memory_log.store, memory_log, Follower())
    async with serving_registry(follower, forward=forward) as url, httpx.AsyncClient(base_url=url) as http:
        r = await http.post("/subjects/s/versions?normalize=true", json={"schema": USER_V1})
        assert (r.status_code, r.json()) == (200, {"id": 9})
        await http.delete("/subjects/s?permanent=true")
        assert forwarded == [("POST", "/subjects/s/versions", "normalize=true", {"schema": USER_V1}),
                             ("DELETE", "/subjects/s", "permanent=true", None)]
        assert (await http.get("/subjects")).json() == []    # reads are answered here
        assert memory_log.records == []

    class LeaderGone(Exception):
        http_status, error_code, message = 500, 50004, "Unknown leader"

    async def no_leader(*args):
        raise LeaderGone()

    async with serving_registry(follower, forward=no_leader) as url, httpx.AsyncClient(base_url=url) as http:
        assert error_of(await http.put("/config", json={"compatibility": "FULL"})) == (500, 50004)
    async with serving_registry(follower) as url, httpx.AsyncClient(base_url=url) as http:
        assert error_of(await http.put("/mode", json={"mode": "READONLY"})) == (500, 50004)


async def test_schema_formats(service):
    proto = 'syntax = "proto3";\npackage shop;\nmessage Item { string sku = 1; }\n'
    async with serving_registry(service) as url, httpx.AsyncClient(base_url=url) as http:
        r = await http.post("/subjects/p/versions", json={"schema": proto, "schemaType": "PROTOBUF"})
        schema_id = r.json()["id"]
        serialized = (await http.get(f"/schemas/ids/{schema_id}?format=serialized")).json()
        assert serialized["schemaType"] == "PROTOBUF"
        descriptor = descriptor_pb2.FileDescriptorProto.FromString(base64.b64decode(serialized["schema"]))
        assert [m.name for m in descriptor.message_type] == ["Item"]
        # a format the type does not know: the canonical text, as Confluent answers (no error)
        canonical = (await http.get(f"/schemas/ids/{schema_id}")).json()["schema"]
        assert (await http.get(f"/schemas/ids/{schema_id}?format=bogus")).json()["schema"] == canonical
        by_version = (await http.get("/subjects/p/versions/1?format=serialized")).json()
        assert by_version["schema"] == serialized["schema"] and by_version["id"] == schema_id
        looked_up = (await http.post("/subjects/p?format=serialized", json={"schema": proto, "schemaType": "PROTOBUF"}))
        assert looked_up.json()["schema"] == serialized["schema"]
        assert (await http.get("/subjects/p/versions/1/schema?format=bogus")).text == canonical


async def test_a_restarted_registry_serves_the_same_ids(service, memory_log):
    async with serving_registry(service) as url, httpx.AsyncClient(base_url=url) as http:
        user_id = (await http.post("/subjects/u/versions", json={"schema": USER_V1})).json()["id"]
        order_id = (await http.post("/subjects/o/versions", json={"schema": ORDER_V1})).json()["id"]
        await http.put("/config/u", json={"compatibility": "FULL"})
    log = memory_log.restarted()
    restarted = RegistryService(log.store, log)
    async with serving_registry(restarted) as url, httpx.AsyncClient(base_url=url) as http:
        assert (await http.get("/subjects")).json() == ["o", "u"]
        assert (await http.post("/subjects/u", json={"schema": USER_V1})).json()["id"] == user_id
        assert json.loads((await http.get(f"/schemas/ids/{order_id}")).json()["schema"]) == json.loads(ORDER_V1)
        assert (await http.get("/config/u")).json() == {"compatibilityLevel": "FULL"}
        r = await http.post("/subjects/u/versions", json={"schema": USER_V2_DEFAULT})
        assert r.json() == {"id": order_id + 1}
        assert (await http.get("/subjects/u/versions")).json() == [1, 2]
