"""Getting a model: the setup wizard and the model manager's tabs (get, build, library)."""
