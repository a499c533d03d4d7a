"""Entry script of the installed (PyInstaller-frozen) app: one executable, three roles.

A frozen app has no Python interpreter to start modules with, and ``sys.executable`` is this
executable. Code that starts ``sys.executable -m MODULE`` therefore lands here, and the modules
it may name are run as ``python -m`` would:

- ``finr1-studio -m quant.quantize_child``: the quantizer's child process
  (``quant.quantize_runner`` starts exactly that);
- ``finr1-studio -m app.core.templates.template_child``: the chat-template sandbox's child process
  (``app.core.templates.chat_template`` starts exactly that);
- ``finr1-studio -m app.core.engine.load_probe PATH THREADS FLASH``: the first-load probe of a model
  file (``app.core.engine.load_probe`` starts exactly that);
- ``finr1-studio -m app.core.documents.extract_child``: the document reader's child process
  (``app.core.documents.extraction`` starts exactly that);
- ``finr1-studio -m app.cli ARGS``: the ``finr1`` command line (the Linux packages' ``finr1``
  launcher runs this); on Windows, where the app's executable has no console, a console twin
  named ``finr1.exe`` runs the command line with its arguments as given;
- anything else: the desktop app, ``app.ui.main.main`` with the arguments as given.
"""

from __future__ import annotations

import sys
from pathlib import Path

CLI_EXECUTABLE = "finr1"


def main() -> int:
    arguments = sys.argv[1:]
    if arguments[:2] == ["-m", "quant.quantize_child"]:
        from quant.quantize_child import main as quantize_child_main

        sys.argv = [sys.argv[0], *arguments[2:]]
        return quantize_child_main()
    if arguments[:2] == ["-m", "app.core.templates.template_child"]:
        from app.core.templates.template_child import main as chat_template_child_main

        return chat_template_child_main()
    if arguments[:2] == ["-m", "app.core.documents.extract_child"]:
        from app.core.documents.extract_child import main as extract_child_main

        return extract_child_main()
    if arguments[:2] == ["-m", "app.core.engine.load_probe"]:
        from app.core.engine.load_probe import main as load_probe_main

        return load_probe_main(arguments[2:])
    if arguments[:2] == ["-m", "app.cli"]:
        from app.cli import main as cli_main

        return cli_main(arguments[2:])
    if Path(sys.executable).stem == CLI_EXECUTABLE:
        from app.cli import main as cli_main

        return cli_main(arguments)
    from app.ui.main import main as gui_main

    return gui_main()


if __name__ == "__main__":
    sys.exit(main())
