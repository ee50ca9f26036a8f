"""From matches to messages: the deliveries written with the matches, the outbox that
claims and sends them, the rendering, the channels (apprise) and the outputs (data)."""
