"""Stage 5, the chat view's core: reply events turned into page operations, rich text and math."""
