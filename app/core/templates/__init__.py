"""Chat templates: a conversation into the prompt text a model was trained on, rendered in a sandbox."""
