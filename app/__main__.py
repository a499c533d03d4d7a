"""``python -m app`` starts the desktop app, like ``finr1-studio``."""

from app.ui.main import main

raise SystemExit(main())
