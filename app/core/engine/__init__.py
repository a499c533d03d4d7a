"""Stage 3, the engine: a model (local llama.cpp or a remote server) answering a conversation token by
token."""
