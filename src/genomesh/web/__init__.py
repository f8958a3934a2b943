"""The web portal: server-rendered pages for researchers, committees, custodians and
participants, served by the hub at `/` and by each node at `/portal`.

- `genomesh.web.app`: `mount_portal`, `create_hub_app`, `create_node_app`.
- `genomesh.web.pages`: `Portal`, `Page`, `PageRouter` - how a page is written.
- `genomesh.web.security`, `genomesh.web.sessions`: CSP, CSRF, cookies, server-side sessions.
- `genomesh.web.hub`, `genomesh.web.node`: the pages of each.

Templates (jinja2) and static files ship as package data; nothing is fetched from a CDN.
"""
