"""The keys that name the window's panels, and with them the chat sessions and the history's
conversations: a scenario panel is named by its scenario's id, free chat by ``FREE_CHAT``."""

from __future__ import annotations

FREE_CHAT = "chat"
