"""The controller mutation quota (KIP-599) as the topic admin handlers apply it.

CreateTopics, CreatePartitions and DeleteTopics *mutate* the cluster: each
new or deleted partition costs the controller records, leader elections and
replica moves. KIP-599 bounds how fast one user/client-id may do that with
``controller_mutation_rate`` (partitions per second), a client quota set with
AlterClientQuotas like ``producer_byte_rate``. The rate is kept in a token
bucket (Kafka's ``TokenBucket``): it refills at ``quota`` tokens per second
up to a burst of ``quota * controller.quota.window.num *
controller.quota.window.size.seconds``, and each partition created or
deleted takes one token.

Two flavours, by request version (Kafka's ``newQuotaFor(request,
strictSinceVersion)``):

- **strict** (CreateTopics v6+, CreatePartitions v3+, DeleteTopics v5+): a
  topic is refused with THROTTLING_QUOTA_EXCEEDED once the bucket is empty
  (negative); while there are tokens left, a topic is accepted whatever its
  size, so one large topic may drive the bucket below zero. Clients of these
  versions know the error and retry after the throttle time.
- **permissive** (older versions): every topic goes through, the partitions
  are recorded, and the response only carries the throttle time, because
  older clients would not understand the error.

When a strict quota refuses a topic, or a permissive one goes negative, the
response's ``throttle_time_ms`` is the time until the bucket is back to zero
tokens (``-tokens / quota * 1000``), and the connection is muted for it
(KIP-219), like any other client quota. (A strict quota that accepted every
topic throttles nothing, even if the last one overdrew the bucket: the next
request finds it empty.)

Where it is enforced. Kafka checks this quota on the active controller,
inside ``ReplicationControlManager``, with the user and client id that the
forwarding broker's Envelope carries. minikafka's forwarding sends the
controller one plain request *per topic*, built by the receiving broker,
with no Envelope: the controller never learns who asked. So the broker that
receives the client's request enforces the quota, in these handlers, before
it forwards each topic: same checks, same order (after validation, before the
change), same errors, but one bucket per broker rather than one per cluster
(a client that spreads its admin requests over N brokers gets up to N times
its rate).
"""

from __future__ import annotations

from minikafka.handlers import RequestContext
from minikafka.handlers.services import BrokerServices
from minikafka.quotas.controller_mutation import UNBOUNDED_CONTROLLER_MUTATION_QUOTA, ControllerMutationQuota


def _now_ms(services: BrokerServices) -> int:
    return int(services.clock.monotonic_ms())  # the clock every quota manager records with


def new_quota(services: BrokerServices, ctx: RequestContext, strict_since_version: int) -> ControllerMutationQuota:
    """This request's quota (Kafka's ``newQuotaFor``): strict from ``strict_since_version``.

    Unbounded (records nothing, never throttles) when the client has no
    ``controller_mutation_rate`` or the broker has no quota managers.
    """
    if services.quotas is None or not services.quotas.controller_mutation.enabled:
        return UNBOUNDED_CONTROLLER_MUTATION_QUOTA
    strict = ctx.api_version >= strict_since_version
    return services.quotas.controller_mutation.new_quota(ctx.quota_user, ctx.quota_client_id, strict,
                                                         _now_ms(services))


def record(services: BrokerServices, quota: ControllerMutationQuota, partitions: int) -> None:
    """Take ``partitions`` tokens now.

    Raises:
        KafkaError: THROTTLING_QUOTA_EXCEEDED (a strict quota whose bucket
            is already empty); the topic is answered with it and left alone.
    """
    if quota is not UNBOUNDED_CONTROLLER_MUTATION_QUOTA:
        quota.record(partitions, _now_ms(services))


def throttle_time_ms(services: BrokerServices, ctx: RequestContext, quota: ControllerMutationQuota) -> int:
    """The response's throttle time; the connection mutes for it (KIP-219).

    Kafka's ``sendResponseMaybeThrottleWithControllerQuota``: what is left of
    the quota's last throttle time, also recorded in the client's
    ``throttle-time`` metric. The server takes the larger of this and the
    request-time throttle.
    """
    if quota is UNBOUNDED_CONTROLLER_MUTATION_QUOTA:
        return 0
    now_ms = _now_ms(services)
    throttle_ms = quota.throttle_time_ms(now_ms)
    if throttle_ms > 0:
        services.quotas.controller_mutation.record_throttle_time(ctx.quota_user, ctx.quota_client_id,
                                                                 throttle_ms, now_ms)
        ctx.throttle_time_ms = max(ctx.throttle_time_ms, throttle_ms)
    return throttle_ms
