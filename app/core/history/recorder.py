"""Keeps the history in step with the chat panels as replies stream: the glue between the chat
sessions (``app.core.chat.session``) and the store (``app.core.history.store``), without a screen.

Which turns form one conversation: free chat's turns until "new chat"; a scenario panel's runs
are each their own conversation (a scenario prompt is a complete task, and one run is what an
analyst files). Regenerating or editing a turn replaces it and the turns after it, in the
history as on the screen. A conversation reopened from the history continues where it was.

Every method is called on one thread (the GUI thread) in the order things happen to a turn:
``turn_started`` → ``text_shown``… → ``turn_finished`` or ``turn_failed``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from app import __version__
from app.core.engine.server_connection import sampling_request
from app.core.history.provenance import ModelProvenance, ServerProvenance
from app.core.history.store import Conversation, HistoryStore, title_from

if TYPE_CHECKING:
    from app.core.chat.session import Turn
    from app.core.engine.config import GenerationSettings
    from app.core.engine.local_engine import TurnResult


class HistoryRecorder:
    """Writes what the chat panels show into ``store`` (see the module docstring).

    ``model`` is the loaded model's provenance (set it when a model loads; its hash may come
    later, see ``model_identified``), or the server's when a remote engine answers: its turns
    then also record the sampling fields as sent to it. ``scenario_titles`` maps scenario ids to a title used
    when a run has no form value to be named after.
    """

    def __init__(self, store: HistoryStore,
                 scenario_titles: Mapping[str, str] | None = None) -> None:
        self.store = store
        self.model: ModelProvenance | ServerProvenance | None = None
        self._scenario_titles = dict(scenario_titles or {})
        self._conversation_of_panel: dict[str, int] = {}
        # (panel key, message id) -> (conversation id, turn id, position)
        self._turns: dict[tuple[str, str], tuple[int, int, int]] = {}
        # model path -> turns this recorder began while that model's hash was unknown
        self._unhashed_turns: dict[str, list[int]] = {}

    # -- the model ------------------------------------------------------------------------------

    def model_identified(self, provenance: ModelProvenance) -> None:
        """The loaded model's full provenance (with its hash) is known: use it from now on, and
        fill it into the turns this recorder began with that file before it was."""
        if isinstance(self.model, ModelProvenance) and self.model.path == provenance.path:
            self.model = provenance
        if provenance.sha256:
            self.store.set_model_sha256(provenance.path, provenance.sha256,
                                        self._unhashed_turns.pop(provenance.path, []))

    # -- turns ----------------------------------------------------------------------------------

    def turn_started(self, key: str, turn: Turn, *, standalone: bool,
                     replaced: Turn | None, sampling: GenerationSettings) -> int:
        """A turn began in panel ``key`` (``replaced``: the turn it replaces, dropped from the
        session with those after it); returns its id in the history."""
        location = self._turns.get((key, replaced.message_id)) if replaced is not None else None
        if location is not None:
            conversation_id, _turn_id, position = location
            self.store.drop_turns_from(conversation_id, position)
            self._forget_from(conversation_id, position)
        elif standalone or key not in self._conversation_of_panel:
            conversation_id = self.store.create_conversation(self._title(turn), turn.scenario_id)
        else:
            conversation_id = self._conversation_of_panel[key]
        self._conversation_of_panel[key] = conversation_id
        turn_id = self.store.begin_turn(conversation_id, turn.question,
                                        scenario_id=turn.scenario_id, form_values=turn.values,
                                        provenance=self._provenance(sampling))
        if isinstance(self.model, ModelProvenance) and self.model.sha256 is None:
            self._unhashed_turns.setdefault(self.model.path, []).append(turn_id)
        position = self.store.turn_position(turn_id)
        self._turns[(key, turn.message_id)] = (conversation_id, turn_id, position)
        return turn_id

    def text_shown(self, key: str, turn: Turn, text: str) -> None:
        """``text`` of the reply was just drawn on the screen: store it now."""
        location = self._turns.get((key, turn.message_id))
        if location is not None:
            self.store.append_reply(location[1], text)

    def turn_finished(self, key: str, turn: Turn, result: TurnResult) -> None:
        """The reply ended (by itself, at the token limit, or stopped)."""
        location = self._turns.get((key, turn.message_id))
        if location is None:
            return
        self.store.finish_turn(location[1], reply_text=result.text, think=result.reply.think,
                               answer=result.reply.answer, finish_reason=result.finish_reason,
                               metrics=result.metrics.to_dict(),
                               shown_tokens=turn.document.tokens)

    def turn_failed(self, key: str, turn: Turn, message: str) -> None:
        location = self._turns.get((key, turn.message_id))
        if location is not None:
            self.store.fail_turn(location[1], message)

    def panel_cleared(self, key: str) -> None:
        """Panel ``key`` starts afresh ("new chat"): its next turn opens a new conversation."""
        self._conversation_of_panel.pop(key, None)

    def adopt(self, key: str, conversation: Conversation, turns: list[Turn]) -> None:
        """Panel ``key`` now shows ``conversation`` (reopened), as ``turns`` in the same order:
        new turns continue it, regenerating one of them replaces it there."""
        self._conversation_of_panel[key] = conversation.id
        for stored, turn in zip(conversation.turns, turns, strict=True):
            self._turns[(key, turn.message_id)] = (conversation.id, stored.id, stored.position)

    def conversation_of(self, key: str) -> int | None:
        """The conversation panel ``key`` adds to, if any."""
        return self._conversation_of_panel.get(key)

    # -- helpers --------------------------------------------------------------------------------

    def _forget_from(self, conversation_id: int, position: int) -> None:
        for mapping_key, (conversation, _turn_id, turn_position) in list(self._turns.items()):
            if conversation == conversation_id and turn_position >= position:
                del self._turns[mapping_key]

    def _title(self, turn: Turn) -> str:
        if turn.scenario_id is not None:
            value = next((value for value in turn.values.values() if value.strip()), "")
            return title_from(value) or self._scenario_titles.get(turn.scenario_id,
                                                                  turn.scenario_id)
        return title_from(turn.question)

    def _provenance(self, sampling: GenerationSettings) -> dict[str, Any]:
        model = self.model.as_record() if self.model is not None else {}
        return turn_provenance(model, sampling,
                               from_server=isinstance(self.model, ServerProvenance))


def turn_provenance(model_record: Mapping[str, Any], sampling: GenerationSettings, *,
                    from_server: bool) -> dict[str, Any]:
    """What a turn records about how it was made, for the chat and for batch rows alike: the
    model's (or server's) record, the sampling settings (and, from a server, the fields as they
    were sent), the app version and the time."""
    record = dict(model_record)
    if from_server:
        record["server_sampling"] = sampling_request(sampling, sampling.seed)
    return {**record, "sampling": asdict(sampling), "app_version": __version__,
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
