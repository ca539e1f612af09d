"""The webhook receiver: awork's webhooks in, durably queued, answered within milliseconds.

    app        `create_app(settings)`: the Starlette app, its lifespan and routes
    receiver   `POST /webhooks/awork`, a raw ASGI route (the one hot path)
    events     the webhook envelope, reduced to what the queue needs
    committer  group commit: concurrent requests share one Redis call
    health     `/livez`, `/readyz`, `/metrics`, `/queue`
    persistence  the warning about an unsafe Redis, once Redis answers (it may start later)
    metrics    the web app's Prometheus registry

It imports only `service.contract`.
"""

from service.web.app import create_app

__all__ = ["create_app"]
