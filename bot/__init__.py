"""Channel-agnostic conversations: neutral Inbound events in, neutral Reply objects out."""
