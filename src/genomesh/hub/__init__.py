"""The hub app: registry, catalogue, Beacon network, dial-out, DAC, passports.

    app.py            create_app(settings): wires everything below into one FastAPI app
    registry.py       HubStore: nodes and catalogue entries (SQLAlchemy; SQLite/PostgreSQL)
    routes.py         /nodes (admin changes) and /catalogue (search, sync)
    admin.py          who may change the registry (admin token or DAC admin account)
    catalogue.py      sync from nodes' /info, /datasets, /filtering_terms; search
    client.py         NodeClient: one request to one node, push or dial-out, time-limited
    network.py        fan-out and merging of node answers, per-node status report
    beacon_routes.py  the Beacon v2 API at the hub's root
    wire.py           Beacon bodies the hub builds itself (info, configuration, errors)
    dialout.py        DialoutBroker: queues, long-poll, signed answers (/dialout/...)
    signing.py        Ed25519-signed, replay-protected messages
    dac/, broker.py   data access committee; passport issuer keys and revocations

The hub never imports node-side internals (store, gate, disclosure, node): it talks to
nodes over HTTP only (import-linter contract in pyproject.toml).
"""
