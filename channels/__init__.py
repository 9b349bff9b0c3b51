"""Adapters between messengers (and the web chat) and the channel-agnostic bot."""
