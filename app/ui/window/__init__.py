"""The main window and what it is made of: header, model host, settings, About."""
