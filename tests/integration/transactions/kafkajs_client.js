// kafkajs driven from pytest: one action per run, JSON in (argv[2]), JSON out (stdout).
//
// Actions:
//   {"action": "produce", "brokers": [...], "topic": "t", "values": ["a", ...],
//    "partitions": 2, "transactional_id": "tx" | null, "commit": true}
//      Without transactional_id: a plain (idempotent-free) producer sends the
//      values, acks=-1. With it: one transaction (init, begin, send, then
//      commit or abort). Prints {"ok": true} or {"ok": false, "error": name,
//      "message": text}.
//   {"action": "fence", "brokers": [...], "topic": "t", "transactional_id": "tx"}
//      Producer A begins a transaction and sends; producer B (same id)
//      initialises, which fences A; A's commit fails. Prints A's error.
//   {"action": "consume", "brokers": [...], "topic": "t", "count": n,
//    "read_committed": true, "timeout_ms": 15000}
//      A consumer group reads the topic from the beginning until it has n
//      records or the timeout passes. Prints {"ok": true, "records":
//      [{"partition", "offset", "value"}, ...]}.
//
// Node finds kafkajs through NODE_PATH (the tests set it to build/node/node_modules).
"use strict";

const { Kafka, logLevel } = require("kafkajs");

function client(brokers) {
  return new Kafka({
    clientId: "minikafka-tests",
    brokers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 8, initialRetryTime: 100 },
  });
}

async function produce(spec) {
  const kafka = client(spec.brokers);
  // Value i goes to partition i % partitions, as the Python faces place them.
  const messages = spec.values.map((value, i) => ({ value, partition: i % (spec.partitions || 1) }));
  if (!spec.transactional_id) {
    const producer = kafka.producer({ allowAutoTopicCreation: true });
    await producer.connect();
    try {
      await producer.send({ topic: spec.topic, acks: -1, messages });
    } finally {
      await producer.disconnect();
    }
    return { ok: true };
  }
  const producer = kafka.producer({
    transactionalId: spec.transactional_id,
    idempotent: true,
    maxInFlightRequests: 1,
    transactionTimeout: spec.transaction_timeout_ms || 60000,
  });
  await producer.connect();
  try {
    const transaction = await producer.transaction();
    await transaction.send({ topic: spec.topic, messages });
    if (spec.commit) {
      await transaction.commit();
    } else {
      await transaction.abort();
    }
  } finally {
    await producer.disconnect();
  }
  return { ok: true };
}

async function fence(spec) {
  const kafka = client(spec.brokers);
  const config = { transactionalId: spec.transactional_id, idempotent: true, maxInFlightRequests: 1 };
  const first = kafka.producer(config);
  await first.connect();
  const transaction = await first.transaction();
  await transaction.send({ topic: spec.topic, messages: [{ value: "from-the-fenced-producer" }] });
  const second = kafka.producer(config);
  await second.connect();
  // The second producer's InitProducerId bumps the epoch: the first is fenced.
  const newer = await second.transaction();
  await newer.send({ topic: spec.topic, messages: [{ value: "from-the-new-producer" }] });
  await newer.commit();
  let error = null;
  try {
    await transaction.commit();
  } catch (e) {
    error = describe(e);
  }
  await Promise.allSettled([first.disconnect(), second.disconnect()]);
  return error ? { ok: false, ...error } : { ok: true };
}

async function consume(spec) {
  const kafka = client(spec.brokers);
  const consumer = kafka.consumer({
    groupId: `kafkajs-${process.pid}-${Date.now()}`,
    readUncommitted: !spec.read_committed,
    sessionTimeout: 10000,
    heartbeatInterval: 1000,
  });
  const records = [];
  await consumer.connect();
  await consumer.subscribe({ topic: spec.topic, fromBeginning: true });
  let done;
  const finished = new Promise((resolve) => { done = resolve; });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      records.push({ partition, offset: Number(message.offset), value: message.value.toString() });
      if (records.length >= spec.count) done();
    },
  });
  const timer = setTimeout(done, spec.timeout_ms || 15000);
  await finished;
  clearTimeout(timer);
  await consumer.disconnect();
  return { ok: true, records };
}

// kafkajs names a broker's error in ``type`` (Kafka's name, e.g. PRODUCER_FENCED),
// sometimes on the cause of a retrier's wrapper.
function describe(e) {
  const cause = e.cause || {};
  return { error: e.type || cause.type || e.name, message: e.message };
}

const ACTIONS = { produce, fence, consume };

async function main() {
  const spec = JSON.parse(process.argv[2]);
  let result;
  try {
    result = await ACTIONS[spec.action](spec);
  } catch (e) {
    result = { ok: false, ...describe(e) };
  }
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exit(0);
}

main();
