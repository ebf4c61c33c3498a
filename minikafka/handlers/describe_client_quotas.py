"""DescribeClientQuotas (key 48, v0-1): the client quotas whose entities match a filter.

Answered from this broker's committed metadata image (Kafka's brokers answer
from their metadata cache, never from the controller). Each filter component
names an entity type and how to match it: 0 an exact name, 1 the default
entity, 2 any entity that has this type; ``strict`` leaves out entities with
types the filter does not name. With no components and ``strict`` false,
every entity matches. A bad filter (a type twice, an unknown type, a match
string where none belongs, ip together with user or client-id) is one error
for the whole response with Kafka's code and message, and null entries.
The matching itself is ``metadata.quota_control.describe_client_quotas``.
"""

from __future__ import annotations

from minikafka.handlers import RequestContext
from minikafka.handlers.services import BrokerServices
from minikafka.metadata.quota_control import describe_client_quotas

API_KEY = 48


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    return describe_client_quotas(services.metadata.image.client_quotas, request)
