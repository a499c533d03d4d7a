"""The app as installed here: where it keeps data, its settings and resources, its llama.cpp build,
what About and the self-test report."""
