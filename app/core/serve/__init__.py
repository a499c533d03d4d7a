"""The app's own OpenAI-compatible server: a thin HTTP adapter over the one loaded model.

``server.ApiServer(queue, config.ServeConfig(...))`` serves ``/v1/models``,
``/v1/chat/completions`` and ``/v1/completions`` (FastAPI on uvicorn, SSE for streaming). Every
request becomes the same engine call the window makes, queued on the model's ``EngineQueue``; the
server holds no generation logic of its own. ``finr1 serve`` runs it from a terminal; the window
can start and stop it on a thread, read its address and busy state, and receive its request log
through a callback (``request_log.RequestRecord``).

Modules: ``config`` (settings, checked: secure by default), ``protocol`` (the OpenAI wire format),
``http_app`` (routes and security layers), ``turn_response`` (one queued turn streamed to its
client), ``server`` (uvicorn on a thread or on the caller's), ``request_log``. Nothing here is
imported with the package, so ``finr1``'s other commands do not load the web stack.
"""
