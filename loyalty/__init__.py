"""Composition layer: settings, the FastAPI app factory and the `loyalty` CLI."""
