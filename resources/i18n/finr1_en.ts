<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en_US">
<context>
    <name>AboutDialog</name>
    <message>
        <source>About {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>installer build</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>running from source</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Licensed under {0}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>llama.cpp is not available: {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Component</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Version</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Licence</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Used for</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Select a component to read its licence.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy details</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>BatchTableModel</name>
    <message>
        <source>Row</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reading</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Final answer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Expected</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Score</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Tokens</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Time (s)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>answering…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>waiting</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>error</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>done (token limit)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>done</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>correct</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>wrong</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>no answer</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>BatchView</name>
    <message>
        <source>Batch: {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose file…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Continue</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Models</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Longest reply (tokens)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Prompt language</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open as conversation</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose a table</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Tables ({0})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>All files (*)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reading {0}…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose a CSV or Excel table: one question per row, one column per field.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{0}: {1} rows, columns: {2}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This file has an unfinished run ({0} of {1} rows answered, with {2}). Continue it, or set up a new run below.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose a table first.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Row {0} cannot be asked: {1}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This window&apos;s model: {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Library: {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Server: {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The window keeps {0} ({1}) loaded for the chat while the batch loads {2} one after the other (the largest: {3}). Both must fit in memory at once. Run the batch?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Two models in memory</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Tick at least one model to answer the rows.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Preparing the models…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Answering {0} rows with {1} model(s)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{0} of {1} rows answered</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Loading {0}…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Done: {0} rows answered.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancelled. The answered rows are kept.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Paused: {0} of {1} rows answered. Resume continues from the next row.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stopped: {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{0} answered</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{0} failed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>accuracy {0:.0%} ({1} of {2})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{0:.1f} tokens/s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Agreement: shown once every model has answered a row.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The models agree on {0:.0%} of the {1} rows all of them answered.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Excel workbook (*.xlsx)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>CSV (*.csv)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export the results</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Results saved to {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Resume</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Pause</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>BuildTab</name>
    <message>
        <source>Step {0} of {1}: {2}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Make your own quants from the original checkpoint: convert it to BF16, compute an importance matrix where it helps, quantize and verify. The results go into the library; the temporary files are removed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Checkpoint</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose a folder…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Compute an importance matrix on finance text (much better Q4_K_S and IQ3 quality; IQ3_XS needs it)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Build</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{0} (in the library)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose a checkpoint folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No checkpoint yet: download the original in “Get models”, import a folder, or choose one.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reading {0}…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{0}: {1}, {2}, {3} layers</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Needs {0} of free disk space; {1} free on the library&apos;s disk.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Free up {0} first.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Building {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Built and added to the library: {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancelled; the temporary files were removed.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ColumnMappingBox</name>
    <message>
        <source>Columns</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> (optional)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Every row: {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>(none)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>(none: no scoring)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Expected answers</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>First question</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose the column for: {0}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>Composer</name>
    <message>
        <source>Ask Fin-R1 anything about finance… (Ctrl+Enter to send)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>New chat</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Editing an earlier question: sending replaces it and the replies after it. Clear the box to cancel.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stop</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Send</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>DocumentDialog</name>
    <message>
        <source>the model runs on a server, whose tokenizer this app does not have, and its context is taken as the one set in Settings</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the model is still loading</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>no model is loaded</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Attach {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Put in the field</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>All</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>None</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choosing parts replaces the text on the right with theirs.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Split into parts that each fit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Part for the field:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The field gets the part chosen here, as one question. To ask about another part, attach the document again and choose that part.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Close</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reading {0}…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reading {0}… {1} of {2}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{0} has no text layer: its pages are probably scanned images, and the app cannot read text in images (no OCR). Attach a PDF with text (one saved from the program that made it), or type the figures into the field.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Page {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sheet {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>(before the first heading)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Pages</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sheets</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sections</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Numbers, e.g. 1-5, 8</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>None of these numbers is in {0}: it has {1} parts, numbered 1 to {1}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The tokens could not be counted: {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Counting tokens…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{0} of {1} tokens</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Kept aside: {0} tokens for the reply (the maximum reply length) and {1} for the rest of the prompt.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Counted with the loaded model&apos;s tokenizer.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>An estimate, as {0}: one token per Chinese character, one per {1} other characters.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Does not fit: the reply&apos;s room and the rest of the prompt already fill the {0}-token context. Lower the maximum reply length in Settings, or raise the context.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Fits: {0}{1} tokens of the {2} the {3}-token context leaves for the document.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Does not fit: {0}{1} tokens, more than the {2} the {3}-token context leaves for the document.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Raise the context to {0} tokens (about {1} more memory)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Raise the context to {0} tokens</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Or choose fewer pages, sheets or sections on the left.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The server&apos;s context is set on the server.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A larger context is not offered: this model was trained for {0} tokens.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The text could not be split: {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Part {0} of {1} ({2} tokens)</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>DownloadRow</name>
    <message>
        <source>waiting</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>paused</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>finished: in the library</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>cancelled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>failed: {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>asking the hub…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Pause</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Resume</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>Formats</name>
    <message>
        <source>{0:.2f} billion parameters</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{0:.1f} million parameters</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{0} s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{0} min</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{0} h {1} min</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>estimating time left…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>about {0} left</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>fits in GPU memory</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>fits in RAM</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>too large</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>lossless</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>near-lossless</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>excellent</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>very good</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>good</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>fair</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{0} (measured KLD {1:.4f})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{0} (KLD ≈ {1})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>verified</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>missing</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>changed: verify it</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>damaged</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>incomplete</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Downloading</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Converting to BF16</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Computing the importance matrix</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Quantizing to {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Verifying {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Importing into the library</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Checking the file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Loading the model</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>GetModelsTab</name>
    <message>
        <source>Ready-made GGUF files of Fin-R1. The badge says whether each fits this machine; the recommended one is pre-selected. Downloads continue in the background and resume after a restart.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Repository</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Download the original (to build your own)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Download</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Downloads</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>HistoryPanel</name>
    <message>
        <source>History</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Search questions and answers</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Rename</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Markdown…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>HTML…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>PDF…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Include the reasoning</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Free chat</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Model SHA-256: {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Nothing matches.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Conversations are saved here as they happen.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Rename…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>New title:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete this conversation from the history?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Markdown (*.md)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Web page (*.html)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>PDF (*.pdf)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export conversation</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Exported to {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The app stopped before this reply finished; this is what had been shown.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>HistoryService</name>
    <message>
        <source>The history could not be saved: {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Wait for the reply to finish (or stop it) before opening another conversation.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This panel has no saved conversation yet.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>JobProgress</name>
    <message>
        <source>Cancel</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>LibraryTab</name>
    <message>
        <source>Every model the app knows, checked against the hash recorded when it was added. Drop .gguf files or checkpoint folders here to import them.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Quant</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Size</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Source</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>State</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Quality</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Import file…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Import folder…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Verify</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remove</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Show in folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Use this model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>downloaded from {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>built here from {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>used where it is: {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>imported from {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Import a model file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>GGUF models (*.gguf)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Import a checkpoint folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Importing {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Verifying {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remove {0} and delete its file ({1})?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Forget {0}? Its file stays where it is ({1}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remove model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Removing {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Done.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>intact</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancelled; nothing was added.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancelled; nothing was changed.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>LocalServer</name>
    <message>
        <source>The server is already running.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Load a model on this computer first: the server answers with the model loaded here.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The server stopped because the model is changing; start it again once the new one is ready.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>MachinePage</name>
    <message>
        <source>This machine</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>What the model has to work with.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Memory (RAM)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Processor</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Graphics card</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>GPU use</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Looking…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{0} in all, {1} free now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{0} cores</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>none found</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>, {0} free</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>llama.cpp on this machine can run the model on the GPU</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>this build of llama.cpp runs on the CPU only</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Fin-R1 does not fit in the memory free now, even in its smallest version. Close other programs, or use a machine with at least 8 GB of RAM.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>entirely on the graphics card, which is fast</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>on the processor</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>on the processor: expect a few words per second</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Recommended: {0} ({1}). It runs {2}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>About {0} tokens a second here: a typical answer (~{1} tokens with its reasoning) in about {2}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A graphics card was found, but this build of llama.cpp cannot use it.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>Prompts in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Preparing the chat view…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Free chat</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The reply failed: {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The chat view is still starting; try again in a moment.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Still connecting to the server.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The model is still loading.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Load a model first: use the switcher at the top right.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Code copied.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Answer copied.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The form holds that run&apos;s values: change them and press Run to replace it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save code</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Saved {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open a GGUF model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>GGUF models (*.gguf);;All files (*)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The model {0} on {1} answers.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not connect to the server: {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not load the model: {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Library: {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Settings could not be saved: {0}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ModelHeader</name>
    <message>
        <source>No model loaded</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose a model on the right, or open a GGUF file.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Settings</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>GPU: {0}/{1} layers on {2}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>GPU · {0}/{1} layers</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>GPU · {0} layers</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>GPU · all layers</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>CPU · 1 thread</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>CPU · {0} threads</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Switch model…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open a GGUF file…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Loading {0}…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reading the model file; the window stays usable.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Connecting to {0}…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Asking the server which models it serves; the window stays usable.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Server · {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The server serves: {0}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ModelManager</name>
    <message>
        <source>Models</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Library</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Get models</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Build</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ModelsMenu</name>
    <message>
        <source>&amp;Models</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Model manager…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Set up Fin-R1…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{0} is downloaded and verified.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ProgressPage</name>
    <message>
        <source>Getting the model ready</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>You can go back or close this window at any time; nothing half-done is left behind.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Downloading {0} from {1}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Downloading the original model from {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copying {0} into the model library</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Building {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ready: {0} ({1}, {2}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancelled; nothing half-done was kept.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stopped by an error.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Go back to choose another way, or close and try later.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Download</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Import into the library</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Convert, quantize and verify</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>QuantPage</name>
    <message>
        <source>Choose the version of the model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Smaller files need less memory and run faster; larger ones answer a little better. The recommended one is selected.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sizes marked ≈ are estimates until the hub has been asked.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The chosen type is built on this computer.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>QuantTable</name>
    <message>
        <source>Type</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>File size</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>On this machine</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Speed here</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Expected quality</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Bits/weight</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>≈ {0} tok/s · answer ≈ {1}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>GPU ≈ {0} tok/s · answer ≈ {1}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>GPU: not predicted</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>≈ {0} tokens/s here; a typical answer (~{1} tokens with its reasoning) in ≈ {2}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>GPU: not predicted: its memory bandwidth is unknown</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>GPU: not predicted: the model does not fit in its memory</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>recommended</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Needs more memory than this machine has free</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ReadyPage</name>
    <message>
        <source>Fin-R1 is ready</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>“Load and start” loads the model and opens a first compliance check filled in with an example: press Run to see Fin-R1 reason.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{0}: {1}, {2}, verified and kept in the model library.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ScenarioPanel</name>
    <message>
        <source>Worked examples:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> (optional)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stop</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stop the reply (Esc)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ask the model (Ctrl+Enter)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Attach…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Put a document&apos;s text in this box: PDF, Word (.docx), Excel (.xlsx), CSV, text, Markdown or HTML. You can also drop the file on the box.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Attach a document</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Documents ({0})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>All files (*)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Batch…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ask this question for every row of a CSV or Excel table, with one or more models</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ServerPanel</name>
    <message>
        <source>Server: starting…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Server: stopping…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Server: off</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Server: ready at {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Server: answering 1, {0} waiting</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Server: the window&apos;s chat has the model, {0} waiting</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Server: busy, {0} waiting</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Listen on</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>port</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>any free port</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>API key</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>needed to listen beyond this computer (clients send it as a bearer token)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Log prompt and reply texts (they may be confidential)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Time</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Method</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Path</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Tokens</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Duration</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Prompt</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stop server</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Start server</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Clients use base URL {0}, model name {1} and the API key.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Clients use base URL {0} and model name {1}; no API key needed.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <source>Auto (as many layers as fit)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>CPU only</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>All layers</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A number of layers</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Follow the system</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Light</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Dark</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Same as the system</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Settings</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Engine: who answers</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This computer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A server (OpenAI-compatible)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Answers from</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Server address</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>none</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>API key</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the one it serves</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Model name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Wait for the server</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Test connection</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Model loading (applies when the model is loaded again)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>All CPUs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>CPU threads</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>GPU layers</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> tokens</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Context size</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Whether this llama.cpp build can use a GPU is checked when a model loads.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This llama.cpp build can offload layers to the GPU.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This llama.cpp build cannot use a GPU (it was built for the CPU only): every layer runs on the CPU whatever is chosen here.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Replies</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Temperature</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Top-p</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Off</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Auto (llama.cpp decides)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>On</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The model writes its reply one token at a time.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Prompt lookup</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Guesses the next tokens from text already in the conversation (figures and names quoted back from the question) and lets the model check several at once. Costs no memory; pays most when the reply repeats the prompt.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Draft model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A small model with the same vocabulary (for Fin-R1: Qwen2.5-0.5B-Instruct as a GGUF) guesses the next tokens and the model checks several at once. Loaded beside the model: it takes its memory too.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>GPU</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>integrated GPU</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>CPU: the layers stay on the CPU</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>accelerator</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Engine</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Model loading</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Library and look</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Layers on the GPU run much faster than on the CPU but take its memory. Auto puts as many as fit the free GPU memory, with the context&apos;s cache; a number of layers leaves the rest on the CPU.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Where the GPU layers go, among the devices llama.cpp lists (as `finr1 doctor` shows them). Automatic spreads them over every GPU it finds; a named device takes them all, e.g. the faster of two GPUs.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>GPU device</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>q8_0 takes about half the memory of f16 (8.5 bits a value against 16) for a loss of quality hardly measurable; q4_0 about a quarter (4.5 bits), with a small loss. The memory saved leaves room for a longer context or more layers on the GPU.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The type of the attention keys kept for every token of the context. {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The type of the attention values kept for every token of the context. {0} A quantized V cache (q8_0, q4_0) needs flash attention: on, or auto, which then turns it on.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>K/V cache types</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Flash attention computes the attention without keeping its whole score matrix: less memory for long contexts, and usually faster on a GPU (on a CPU it gains little). Auto lets llama.cpp use it where the device supports it; off keeps the V cache at f16.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Flash attention</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The reply is the same either way, token for token: the model checks every guess and keeps only what it would have written itself. Only the speed changes.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Speculative decoding: tokens guessed ahead are checked by the model several at a time, which is faster where the guesses are right. {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Faster replies</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the draft model&apos;s GGUF</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The small GGUF that drafts: it must share the model&apos;s vocabulary (for Fin-R1: Qwen2.5-0.5B-Instruct). Kept when another choice is made.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Top-k</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Repetition penalty</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Longest reply</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reset to Fin-R1&apos;s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>System prompt</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Scenario prompts in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Library, hub and look</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>GGUF models (*.gguf);;All files (*)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Model library</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>https://huggingface.co (a mirror: https://hf-mirror.com)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Hub endpoint</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>only for gated or private repositories</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Hub token</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Offline mode: never contact the hub</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Theme</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Window language</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Give the server&apos;s address, such as http://127.0.0.1:8000/v1.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Testing {0}…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Connection works: {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Connection failed: {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>llama.cpp&apos;s devices could not be listed: {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Automatic (every GPU llama.cpp finds)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{0} (not found)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>llama.cpp does not list this device now: a model loads with it only once it is back. Choose another to load without it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{0}, {1} free</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The engine refuses this cache choice: {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The engine refuses this choice of faster replies: {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Fin-R1&apos;s K/V cache at {0} tokens: {1}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Fin-R1&apos;s K/V cache at {0} tokens: {1} (f16: {2}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Model library folder</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>SetupWizard</name>
    <message>
        <source>Set up Fin-R1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&lt; Back</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Next &gt;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Load and start</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>SourcePage</name>
    <message>
        <source>Where the model comes from</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose one way to get Fin-R1.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Found on this computer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Use {0} (beside the app)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Download a ready-made model file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The quickest way: one file of 3 to 8 GB from the model hub.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Download the original model and build it here</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Downloads 15 GB, then converts and quantizes on this computer (with an importance matrix for the smallest types). Takes longer; every step is checked.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Import a model from disk (a .gguf file or a checkpoint folder)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Path of a .gguf file or a checkpoint folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>File…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Folder…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose a model file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>GGUF models (*.gguf)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose a checkpoint folder</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>WelcomePage</name>
    <message>
        <source>Welcome to Fin-R1 Studio</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Fin-R1 answers finance questions on this computer; nothing you ask leaves it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This assistant gets the Fin-R1 model ready: it looks at this machine, helps you choose a version of the model that fits it, fetches or builds it, and opens a first compliance check. It takes a few minutes plus the download.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Language</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Same as the system</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>WindowServices</name>
    <message>
        <source>Local server</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Conversation</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export as Markdown…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export as HTML…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export as PDF…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Show the history</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>History</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>About Fin-R1 Studio…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This panel has no saved conversation yet.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Batch runs are saved in the history, which could not be opened.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
</TS>
