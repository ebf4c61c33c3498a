"""AlterClientQuotas (key 49, v0-1): set or remove client quota values (KIP-546).

Client quotas live in the cluster metadata log, and only the active
controller writes it, so this handler forwards the request as it is
(``controller_apis.forward``) and relays the answer: per entity NONE, or
INVALID_REQUEST with Kafka's message (an unknown entity type or key, a value
not greater than 0, a fraction for an integral key, ...; see
``metadata.quota_control``). ``validate_only`` checks without writing. The
request has no timeout of its own: the controller channel's default applies,
and if no controller answers by then every entity gets REQUEST_TIMED_OUT.

Every broker learns of the change when it replays the committed
``ClientQuotaRecord``s, so a DescribeClientQuotas sent to another broker
right after may not show it yet (as in Kafka).
"""

from __future__ import annotations

from minikafka.handlers import RequestContext, controller_apis
from minikafka.handlers.services import BrokerServices

API_KEY = 49


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    return await controller_apis.forward(services, "alter_client_quotas", request, 0)
