"""Policy backends: the next assistant turn for a conversation."""
