"""PySide6 widgets presenting app.core. Holds no business logic."""
