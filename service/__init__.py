"""The HTTP side of awork-billing and what both processes share.

    contract   settings, Redis keys, the queue protocol, webhook facts (imports nothing else)
    web        the webhook receiver (imports only the contract)
    sandbox    a fake awork API speaking awork's published contract (imports nothing of ours)
    app        `uvicorn service.app:app`

`service` never imports `workers`: the web app enqueues flush jobs by name (SPEC 2).
"""
