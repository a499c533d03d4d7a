"""How far a quantized model's next-token distributions are from the reference's: the numbers
llama.cpp's ``llama-perplexity --kl-divergence`` reports, computed in numpy in float64.

Rows are token positions, columns the vocabulary. All functions are pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

KLD_PERCENTILE = 99.0


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-probabilities (float64) of ``logits`` (n_rows, n_vocab)."""
    shifted = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def kl_divergence(reference_logprobs: np.ndarray, model_logprobs: np.ndarray) -> np.ndarray:
    """Per row, KL(reference ‖ model) = Σ p_ref · (log p_ref − log p_model), in nats."""
    return (np.exp(reference_logprobs) * (reference_logprobs - model_logprobs)).sum(axis=1)


def negative_log_likelihood(logprobs: np.ndarray, next_tokens: np.ndarray) -> np.ndarray:
    """Per row, −log p(next token): the row's share of the perplexity."""
    return -logprobs[np.arange(len(next_tokens)), next_tokens]


def same_top_token(reference_logprobs: np.ndarray, model_logprobs: np.ndarray) -> np.ndarray:
    """Per row, whether both put the most probability on the same token."""
    return reference_logprobs.argmax(axis=1) == model_logprobs.argmax(axis=1)


@dataclass
class ScoreAccumulator:
    """Collects per-token values over all chunks and summarises them."""

    kld: list[np.ndarray] = field(default_factory=list)
    nll: list[np.ndarray] = field(default_factory=list)
    agreement: list[np.ndarray] = field(default_factory=list)

    def add(self, reference_logprobs: np.ndarray, model_logprobs: np.ndarray,
            next_tokens: np.ndarray) -> None:
        """Score one block of positions: ``*_logprobs`` (n, n_vocab) as ``log_softmax`` gives
        them, ``next_tokens`` (n,)."""
        self.kld.append(kl_divergence(reference_logprobs, model_logprobs))
        self.nll.append(negative_log_likelihood(model_logprobs, next_tokens))
        self.agreement.append(same_top_token(reference_logprobs, model_logprobs))

    @property
    def tokens(self) -> int:
        return sum(len(block) for block in self.nll)

    def perplexity(self) -> float:
        """exp(mean −log p(next token))."""
        return float(np.exp(np.concatenate(self.nll).mean()))

    def kld_mean(self) -> float:
        return float(np.concatenate(self.kld).mean())

    def kld_percentile(self, percentile: float = KLD_PERCENTILE) -> float:
        return float(np.percentile(np.concatenate(self.kld), percentile))

    def top1_agreement(self) -> float:
        """Share of positions (0 to 1) where the model's most likely token is the reference's."""
        return float(np.concatenate(self.agreement).mean())
