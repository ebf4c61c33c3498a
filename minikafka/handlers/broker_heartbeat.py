"""BrokerHeartbeat (key 63): a broker keeps its session with the active controller (KIP-631).

Carries the sender's broker epoch and the last metadata offset it applied;
the controller unfences a caught-up broker, and runs a controlled shutdown
when ``want_shut_down`` is set. Like BrokerRegistration it runs the
controller operation (``broker_heartbeat``) here when this node is the active
controller and answers ``NOT_CONTROLLER`` otherwise.
"""

from __future__ import annotations

from minikafka.handlers import RequestContext, controller_apis
from minikafka.handlers.services import BrokerServices

API_KEY = 63


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    return await controller_apis.submit(services, API_KEY, request)
