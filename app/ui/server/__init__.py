"""The app's own OpenAI-compatible server, switched on and watched from the window."""
