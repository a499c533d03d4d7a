"""The reference model's log-probabilities at every scored position, computed once per evaluation
and read back for each model compared with it.

They are kept exactly but compactly: the reference's float32 logits in a ``.npy`` file mapped from
disk, plus two numbers a row in memory (the row's largest logit and its float64 log-normalizer).
Reading a block back takes two subtractions and gives ``log_softmax(logits)`` bit for bit, so every
figure is what normalizing the logits afresh would give; float64 rows would take twice the disk.
For Fin-R1 (a 152,064-token vocabulary) at the default 512-token chunks (255 scored rows each),
that is 155 MB a chunk: about 2.8 GB for the 18 chunks of the bundled held-out text. Only the
block being compared is read into memory.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from quant.eval_metrics import log_softmax


class ReferenceLogprobs:
    """Log-probabilities of ``chunks`` × ``rows`` positions over ``n_vocab`` tokens, stored in the
    new file ``path`` (overwritten if present). Fill each chunk's blocks with ``keep`` before
    reading them with ``read``; ``close`` unmaps the file (needed before deleting it on Windows).
    """

    def __init__(self, path: Path, chunks: int, rows: int, n_vocab: int) -> None:
        self._logits: np.ndarray = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32,
                                                             shape=(chunks, rows, n_vocab))
        self._peak = np.zeros((chunks, rows, 1), dtype=np.float32)
        self._log_total = np.zeros((chunks, rows, 1), dtype=np.float64)

    def keep(self, chunk: int, rows: slice, logits: np.ndarray) -> np.ndarray:
        """Store the float32 ``logits`` (n, n_vocab) of ``rows`` (n of them) of ``chunk`` and
        return their log-probabilities (float64, as ``log_softmax`` gives them)."""
        logprobs = log_softmax(logits)
        self._logits[chunk, rows] = logits
        self._peak[chunk, rows] = logits.max(axis=1, keepdims=True)
        # log_softmax subtracts the peak, then the log-normalizer; at the peak the first difference
        # is exactly 0, so the row's largest log-probability is exactly minus the log-normalizer.
        self._log_total[chunk, rows] = -logprobs.max(axis=1, keepdims=True)
        return logprobs

    def read(self, chunk: int, rows: slice) -> np.ndarray:
        """The log-probabilities (float64) of ``rows`` of ``chunk``, equal bit for bit to those
        ``keep`` returned for them."""
        return (self._logits[chunk, rows].astype(np.float64) - self._peak[chunk, rows]
                - self._log_total[chunk, rows])

    def close(self) -> None:
        """Drop the file mapping; later reads fail."""
        self._logits = np.zeros((0, 0, 0), dtype=np.float32)
