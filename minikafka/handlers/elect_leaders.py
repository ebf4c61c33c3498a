"""ElectLeaders (key 43): elect partition leaders again (KIP-183 preferred, KIP-460 unclean).

Only the active controller can change a leader, so this handler forwards
the request as it is (``controller_apis.forward``) and relays the
controller's answer: per partition NONE (a new leader), ELECTION_NOT_NEEDED
(the replica the election would pick already leads),
PREFERRED_LEADER_NOT_AVAILABLE / ELIGIBLE_LEADERS_NOT_AVAILABLE, or
UNKNOWN_TOPIC_OR_PARTITION. With ``topic_partitions`` null (every
partition) Kafka lists only the partitions where something happened. If no
controller answers within the request's ``timeout_ms``, every partition gets
REQUEST_TIMED_OUT.
"""

from __future__ import annotations

from minikafka.handlers import RequestContext, controller_apis
from minikafka.handlers.services import BrokerServices

API_KEY = 43


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    return await controller_apis.forward(services, "elect_leaders", request, request.timeout_ms)
