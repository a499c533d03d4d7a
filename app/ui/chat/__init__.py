"""The chat: scenario panels, free chat's composer, the chat view and the controller that streams replies."""
