"""Policy backends: the next assistant turn for a conversation (chosen by name in ``registry.POLICIES``)."""
