"""minikafka's tests, laid out like the code they test.

Unit, property and in-process tests sit in a folder named after their
package: ``core``, ``protocol``, ``rpc``, ``server``, ``broker`` (the Broker, its
config and topics), ``handlers``, ``storage``, ``replication``,
``coordinator`` (``classic`` and ``consumer`` for the two group protocols),
``quorum``, ``metadata``, ``chaos``, ``cli`` and ``clients`` (the bundled
clients). These folders are not packages: a test module is imported by its
file name, so file names are unique across them, and helpers sit next to
the tests that use them.

``integration`` (a package, subfolders by subject) holds the tests that
start broker processes (``harness.BrokerProcess``, ``minikafka.chaos.Cluster``,
Tansu) or drive real Kafka clients (kafka-python, confluent-kafka, aiokafka,
kcat). They import their helpers as ``tests.integration...``.
"""
