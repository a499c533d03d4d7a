"""Everything the app knows and does, without a screen. Imports quant, never Qt."""
