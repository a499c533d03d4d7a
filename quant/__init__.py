"""Hugging Face checkpoint → GGUF → quantized GGUF. Numpy, gguf and llama_cpp only; no Qt, no app."""
