"""Stage 1, the hub: where Fin-R1 lives online, and downloading its files into the library."""
