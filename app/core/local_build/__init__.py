"""Building quants locally: checkpoint → BF16 GGUF → importance matrix → quantize → library."""
