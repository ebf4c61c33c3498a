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

Either way the response's ``throttle_time_ms`` is the time until the bucket
is back to zero tokens (``-tokens / quota * 1000``), and the connection is
muted for it (KIP-219), like any other client quota.

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

from minikafka.errors import ErrorCode, KafkaError
from minikafka.handlers import RequestContext
from minikafka.handlers.services import BrokerServices

THROTTLING_MESSAGE = "The throttling quota has been exceeded."


class UnboundedQuota:
    """No quota at all (Kafka's ``UnboundedControllerMutationQuota``): quotas not built."""

    def is_exceeded(self) -> bool:
        return False

    def record(self, partitions: int) -> None:
        pass

    def throttle_time_ms(self, now_ms: float | None = None) -> int:
        return 0


def new_quota(services: BrokerServices, ctx: RequestContext, strict_since_version: int):
    """The quota of this request's user/client-id: strict from ``strict_since_version``."""
    if services.quotas is None or not services.quotas.controller_mutation.enabled:
        return UnboundedQuota()
    strict = ctx.api_version >= strict_since_version
    return services.quotas.controller_mutation.new_quota(ctx.quota_user, ctx.quota_client_id, strict,
                                                         services.clock.monotonic_ms())


def record(quota, partitions: int) -> None:
    """Take ``partitions`` tokens, or raise THROTTLING_QUOTA_EXCEEDED (strict quota, empty bucket)."""
    if quota.is_exceeded():  # a strict quota already refused a topic of this request
        raise KafkaError(ErrorCode.THROTTLING_QUOTA_EXCEEDED, THROTTLING_MESSAGE)
    quota.record(partitions)


def throttle_time_ms(services: BrokerServices, ctx: RequestContext, quota) -> int:
    """The response's throttle time; also tells the connection to mute for it (KIP-219)."""
    if isinstance(quota, UnboundedQuota):
        return 0
    throttle_ms = int(quota.throttle_time_ms(services.clock.monotonic_ms()))
    if throttle_ms > 0:
        ctx.throttle_time_ms = max(ctx.throttle_time_ms, throttle_ms)
    return throttle_ms
