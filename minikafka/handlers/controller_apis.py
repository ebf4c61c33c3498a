"""The admin APIs as the *controller listener* serves them (Kafka's ``ControllerApis``).

In a multi-process cluster a broker that is not the active controller cannot
run a controller operation itself. Kafka's broker wraps the client's request
in an Envelope (API 58) and forwards it; the controller's ``ControllerApis``
runs it. minikafka keeps the same split with less machinery: the broker's
``ControllerChannel`` sends the *controller operation's request*, which is
already a CreateTopics / DeleteTopics / CreatePartitions / AlterConfigs /
IncrementalAlterConfigs request body, to the active controller's CONTROLLER
listener (its address in ``controller.quorum.voters``), and this module
answers it there: straight to ``MetadataRuntime.submit``, with none of the
client-facing checks (the forwarding broker made them) and no further
forwarding. A node that is not (or stops being) the active controller answers
every entry with NOT_CONTROLLER, and the sender looks for the leader again.

On a connection to a listener named in ``controller.listener.names`` these
handlers replace the ordinary ones (:func:`handlers_for_listener`); elsewhere
CreateTopics and friends are the client-facing handlers. ElectLeaders (43),
the reassignment APIs (45, 46) and AlterClientQuotas (49) have nothing to
check on the broker: their
client-facing handlers only :func:`forward` the request through the channel.
AlterPartition (56) and AllocateProducerIds (67) are broker-to-controller
RPCs, answered by :func:`submit` on every listener.

:data:`~minikafka.metadata.forwarding.FORWARDED` is the table both sides
use: operation -> (API key, the version the channel sends, how to build an
all-error response).
"""

from __future__ import annotations

from minikafka.errors import KafkaError
from minikafka.handlers import RequestContext
from minikafka.handlers.services import BrokerServices
from minikafka.metadata.broker_lifecycle import DEFAULT_CALL_TIMEOUT_S
from minikafka.metadata.forwarding import FORWARDED, ForwardedApi


_BY_KEY = {api.api_key: (operation, api) for operation, api in FORWARDED.items()}


async def submit(services: BrokerServices, api_key: int, request) -> dict:
    """Run the controller operation of ``api_key`` here; errors in the response."""
    operation, api = _BY_KEY[api_key]
    return await _answer(api, request, services.controller.submit(operation, request))


async def forward(services: BrokerServices, operation: str, request, timeout_ms: int) -> dict:
    """A client-facing handler's whole job: run ``operation`` on the active controller.

    The broker's ``ControllerChannel`` finds the active controller (this
    node, or a peer) and retries across elections for up to ``timeout_ms``
    (the request's own timeout; 0 or less: the channel's default). A failure
    (REQUEST_TIMED_OUT, ...) becomes the response Kafka builds for it, with
    the code on every entry of the request.
    """
    timeout_s = timeout_ms / 1000 if timeout_ms > 0 else DEFAULT_CALL_TIMEOUT_S
    call = services.forwarding.call(operation, request, timeout_s=timeout_s)
    return await _answer(FORWARDED[operation], request, call)


async def _answer(api: ForwardedApi, request, call) -> dict:
    try:
        response = await call
    except KafkaError as exc:
        response = api.error_response(request, exc.code, exc.message)
    return {"throttle_time_ms": 0, **response}


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    return await submit(services, ctx.api_key, request)


# The APIs answered differently on a controller listener (62/63, AlterPartition
# 56 and AllocateProducerIds 67 are answered the same way on every listener by
# their own handler modules).
CONTROLLER_LISTENER_KEYS = frozenset({19, 20, 33, 37, 43, 44, 45, 46, 49})


def handlers_for_listener(handlers: dict, listener_name: str | None, controller_listener_names) -> dict:
    """The handler table for connections accepted on ``listener_name``."""
    if listener_name is None or listener_name not in controller_listener_names:
        return handlers
    return {**handlers, **{key: handle for key in CONTROLLER_LISTENER_KEYS}}
