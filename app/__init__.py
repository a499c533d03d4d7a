"""Fin-R1 Studio: the desktop app (``app.ui``), its screen-free core (``app.core``) and CLI."""

__version__ = "0.1.0"
