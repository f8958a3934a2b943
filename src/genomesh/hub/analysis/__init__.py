"""The hub's analysis coordinator: tasks (`tasks`), their rounds (`coordinator`), the API
(`routes`). Shares only `genomesh.analysis` (protocol, wire, registered types) with nodes."""
