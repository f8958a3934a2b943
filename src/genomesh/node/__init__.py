"""The node app: create_app(settings)."""
