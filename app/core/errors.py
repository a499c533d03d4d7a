"""Errors of the app layer that a person can cause, each saying what to do next.

They derive from ``quant.errors.FinR1Error`` (re-exported here) so the CLI and GUI catch one type
and show ``str(error)``.
"""

from __future__ import annotations

from foundation.errors import FinR1Error, NotEnoughDiskSpaceError

__all__ = [
    "FinR1Error",
    "InvalidFieldValueError",
    "MissingFieldsError",
    "NotEnoughDiskSpaceError",
    "ScenarioError",
    "ScenarioFileError",
    "UnknownScenarioError",
]


class ScenarioError(FinR1Error):
    """Base of the errors about scenarios (their files, or the values filled into their forms)."""


class ScenarioFileError(ScenarioError):
    """A scenario file is missing, unreadable or malformed; the message names the file."""


class UnknownScenarioError(ScenarioError):
    """No scenario has the requested id; the message lists the known ids."""


class MissingFieldsError(ScenarioError):
    """Required form fields are empty.

    ``field_names`` holds the names of ALL missing fields in form order; the message lists their
    labels in the language the form is shown in.
    """

    def __init__(self, message: str, field_names: tuple[str, ...]) -> None:
        super().__init__(message)
        self.field_names = field_names


class InvalidFieldValueError(ScenarioError):
    """A form value does not fit its field (a number field holding text, an unknown choice)."""

    def __init__(self, message: str, field_name: str) -> None:
        super().__init__(message)
        self.field_name = field_name


# -- model acquisition and the library (catalog, hub, downloads, library) ------------------------

__all__ += [
    "CatalogError",
    "ChecksumMismatchError",
    "DownloadError",
    "DownloadInProgressError",
    "DownloadInterruptedError",
    "HubAccessError",
    "HubError",
    "HubFileNotFoundError",
    "HubRepoNotFoundError",
    "HubUnreachableError",
    "LibraryBusyError",
    "LibraryError",
    "LibraryReadOnlyError",
    "LibraryUnavailableError",
    "ModelChangedError",
    "ModelImportError",
    "NotEnoughDiskSpaceError",
    "OfflineModeError",
    "QuantNotAvailableError",
    "UnknownModelError",
    "UnverifiableFileError",
]


class CatalogError(FinR1Error):
    """The shipped hub catalog (resources/catalog.toml) or its cache is malformed."""


class OfflineModeError(FinR1Error):
    """Offline mode is on and the action needs the network."""


class HubError(FinR1Error):
    """Base of the errors talking to the model hub (or a mirror of it)."""


class HubUnreachableError(HubError):
    """The hub (or the configured mirror) cannot be reached: no network, proxy, firewall."""


class HubRepoNotFoundError(HubError):
    """The repository (or the revision) does not exist on the hub."""


class HubFileNotFoundError(HubError):
    """The repository has no such file."""


class HubAccessError(HubError):
    """The hub refused access: a gated or private repository needs a token."""


class QuantNotAvailableError(HubError):
    """The repository offers no file of the requested quant type; the message lists what it has."""


class DownloadError(FinR1Error):
    """Base of the errors of a download."""


class DownloadInterruptedError(DownloadError):
    """The transfer failed after its retries; the partial file is kept and the next attempt
    resumes from it."""


class DownloadInProgressError(DownloadError):
    """Another process is downloading the same file right now."""


class ChecksumMismatchError(DownloadError):
    """The downloaded bytes do not match the hub's hash; the file was deleted."""


class UnverifiableFileError(DownloadError):
    """The hub gives no hash for a file, so it cannot be verified and is not downloaded."""



class LibraryError(FinR1Error):
    """Base of the errors of the model library."""


class LibraryUnavailableError(LibraryError):
    """The library folder cannot be reached (an unplugged disk, a missing network share)."""


class LibraryReadOnlyError(LibraryError):
    """The library is on a read-only disk: it can be listed and used but not changed."""


class LibraryBusyError(LibraryError):
    """Another process kept the library's manifest locked for too long."""


class UnknownModelError(LibraryError):
    """No model in the library has the given id; the message lists the ids."""


class ModelChangedError(LibraryError):
    """A model's file is missing or changed since it was verified; it is not used until verified."""


class ModelImportError(LibraryError):
    """A file or folder cannot be imported: not a valid GGUF, or an incomplete checkpoint."""


# -- the About box (app/core/installation/about.py) ----------------------------------------------------------

__all__ += ["AboutDataError"]


class ChatLabelsError(FinR1Error):
    """resources/chat/labels.toml is missing, malformed, or a text lacks a language or a field
    (a broken installation); the message names the file and the text."""


class AboutDataError(FinR1Error):
    """The licence notices shipped in resources/licenses are missing or malformed (a broken
    installation); the message names the file."""


# -- conversation history and export (app/core/history/store.py, export.py) ----------------------

__all__ += ["ExportError", "HistoryError", "UnknownConversationError"]


class HistoryError(FinR1Error):
    """The history database cannot be opened or written (a damaged file, a read-only disk)."""


class EmptyTitleError(HistoryError, ValueError):
    """A conversation was given an empty title (a ``HistoryError``, so the CLI and the GUI show
    it as one line; a ``ValueError`` for callers that check the argument)."""


class UnknownConversationError(HistoryError):
    """No conversation in the history has the given id; the message says how to list them."""


class ExportError(FinR1Error):
    """A conversation cannot be exported (unknown format, an output that cannot be written)."""


class InvalidModelNameError(FinR1Error, ValueError):
    """A build's model name is not a plain file name (it holds a folder separator or is ``.``
    or ``..``), so its files would land outside the build's work folder."""


# -- a remote engine: an OpenAI-compatible server (app/core/engine/remote_engine.py) --------------------

__all__ += [
    "RemoteEngineError",
    "ServerAuthError",
    "ServerDroppedError",
    "ServerModelNotFoundError",
    "ServerResponseError",
    "ServerTimeoutError",
    "ServerUnreachableError",
]


class RemoteEngineError(FinR1Error):
    """Base of the errors talking to an OpenAI-compatible server.

    ``partial_text``: the reply received before a failure in the middle of it (its reasoning
    wrapped in ``<think>…</think>``, as every reply is stored), so that nothing shown is lost;
    None when the failure came before the reply began.
    """

    def __init__(self, message: str, partial_text: str | None = None) -> None:
        super().__init__(message)
        self.partial_text = partial_text


class ServerUnreachableError(RemoteEngineError):
    """No connection to the server: a wrong address or port, a server not running, a firewall."""


class ServerAuthError(RemoteEngineError):
    """The server refused the API key (HTTP 401 or 403): it is missing or wrong."""


class ServerModelNotFoundError(RemoteEngineError):
    """The server does not serve the model asked for; ``models`` lists the ones it serves."""

    def __init__(self, message: str, models: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.models = models


class ServerTimeoutError(RemoteEngineError):
    """The server sent nothing for longer than the connection's timeout."""


class ServerDroppedError(RemoteEngineError):
    """The server closed the reply before its end (it crashed or restarted, the network broke)."""


class ServerResponseError(RemoteEngineError):
    """The server answered with an error, or with something that is not an OpenAI-compatible
    reply; the message quotes what it said."""


# -- documents attached to a scenario field (app/core/documents) --------------------------------

__all__ += [
    "DocumentError",
    "DocumentFormatError",
    "DocumentLimitError",
    "DocumentReadError",
    "DocumentSelectionError",
    "UnsupportedDocumentError",
]


class DocumentError(FinR1Error):
    """Base of the errors turning a document (PDF, DOCX, XLSX, CSV, text, HTML) into text; the
    message names the file."""


class UnsupportedDocumentError(DocumentError):
    """The file's extension is not one of the document types the app reads; the message lists
    them."""


class DocumentReadError(DocumentError):
    """The file cannot be opened: missing, a folder, no permission."""


class DocumentFormatError(DocumentError):
    """The file is not what its extension says, is damaged, or is password-protected."""


class DocumentSelectionError(DocumentError):
    """The pages or sheets asked for are not in the document (the message lists what is), or
    the selection does not apply to its type."""


class DocumentLimitError(DocumentError):
    """Reading the document went past a limit (time, memory, size, a zip that expands too far)
    and was stopped; nothing else was affected."""


# -- batch runs over a spreadsheet (app/core/batch) ----------------------------------------------

__all__ += ["BatchBusyError", "BatchError", "BatchInputError", "BatchMappingError",
            "BatchResumeError"]


class BatchError(FinR1Error):
    """Base of the errors of a batch run (its input table, its column mapping, its records)."""


class BatchInputError(BatchError):
    """The input table cannot be read: not CSV or XLSX, damaged, empty, no header row, too
    large, or a sheet that is not in the workbook; the message names the file."""


class BatchMappingError(BatchError):
    """The columns do not fit the scenario: a required field without a column, a column or a
    field that does not exist; the message lists what there is."""


class BatchBusyError(BatchError):
    """Another process is answering the rows of this batch run right now."""


class BatchResumeError(BatchError):
    """A batch run cannot be continued: none matches, or its input file has changed since."""


# -- the engine ------------------------------------------------------------------------------

class ChatTemplateError(FinR1Error):
    """A model file's chat template is unsafe, broken or cannot render the conversation."""


class ContextOverflowError(FinR1Error):
    """The system prompt, the question and the reply reserve do not fit in the context window."""


class GenerationError(FinR1Error):
    """llama.cpp failed while evaluating the prompt or generating the reply."""


__all__ += ["DraftModelMismatchError"]


class DraftModelMismatchError(FinR1Error):
    """The draft model chosen for speculative decoding does not share the model's vocabulary
    (llama.cpp's rule: the same kind of tokenizer and special tokens, sizes within 128 tokens, the
    same text for every shared token); the message says where they differ."""
