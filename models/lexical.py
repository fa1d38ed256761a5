"""sori's lexical sentiment view: Kiwi morphemes, hashed TF-IDF and a 3-class logistic regression.

Why a second view: the VOC model reads a sentence through subword tokens and a transformer, the lexical
view through the morphemes Kiwi already finds in the sentence-split stage, and the two err on different
sentences, so a blend of their log-probabilities (`blend_log_probabilities`, configured by
`models.lexical_sentiment`, `lexical_weight` and `lexical_temperature`) is right more often than either
(docs/evaluation.md, "The lexical sentiment view and the blend").

Features (`morpheme_features`): every morpheme as `form/tag` and every pair of neighbouring morphemes,
hashed into `n_features` columns (scikit-learn's `HashingVectorizer`, no sign flipping) so no
vocabulary has to be shipped. Counts are sublinear (1 + log tf), scaled by the idf of the training
split, L2-normalised, then scored by the regression. A model is its arrays in one `.npz`
(`lexical_sentiment.npz`, read with `allow_pickle=False`): `n_features`, the hashed columns kept
(seen in at least `min_df` training texts), their idf, and the regression's fp16 coefficients and
intercepts, over the classes in `LABELS` order (0 negative, 1 neutral, 2 positive). Trained by
`models.training.train_lexical_sentiment`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from models.digest import weights_spec
from pipeline.text.korean import morphemes_of, shared_kiwi

BUILTIN_LEXICAL = "builtin:sentiment-kiwi-tfidf"
WEIGHTS_DIR = Path(__file__).parent / "weights" / "sentiment-kiwi-tfidf"
WEIGHTS_FILE = "lexical_sentiment.npz"
SETTINGS_FILE = "lexical_sentiment.json"
N_CLASSES = 3


def morpheme_features(morphemes: Sequence[str]) -> list[str]:
    """The morphemes and each pair of neighbours (`a+b`): negation and particles read with their word."""
    return [*morphemes, *(f"{a}+{b}" for a, b in zip(morphemes, morphemes[1:], strict=False))]


def kiwi_morphemes(texts: Sequence[str], kiwi: Any = None) -> list[list[str]]:
    """Each text's morphemes by Kiwi (the process's shared instance unless one is given), as the
    sentence split records them (`pipeline.text.korean.morphemes_of`)."""
    if not texts:
        return []
    return [morphemes_of(tokens) for tokens in (kiwi or shared_kiwi()).tokenize(list(texts))]


def hashed_counts(morpheme_lists: Sequence[Sequence[str]], n_features: int) -> sp.csr_matrix:
    """Term counts (n, n_features) of each list's `morpheme_features`, hashed without sign flipping."""
    from sklearn.feature_extraction.text import HashingVectorizer

    vectorizer = HashingVectorizer(analyzer=morpheme_features, n_features=n_features,
                                   alternate_sign=False, norm=None)
    return vectorizer.transform(morpheme_lists).tocsr()


def known_builtin(name_or_path: str) -> str:
    """The name, unless it is a builtin other than the one there is (a ValueError naming it)."""
    if name_or_path.startswith("builtin:") and name_or_path != BUILTIN_LEXICAL:
        raise ValueError(f"unknown builtin lexical model {name_or_path!r}; the only one is "
                         f"{BUILTIN_LEXICAL!r}")
    return name_or_path


def resolve_lexical(name_or_path: str) -> Path:
    """The folder of a lexical model: `builtin:sentiment-kiwi-tfidf` is the committed one under
    `models/weights/`; any other value is a folder `train_lexical_sentiment` wrote."""
    known_builtin(name_or_path)
    path = WEIGHTS_DIR if name_or_path == BUILTIN_LEXICAL else Path(name_or_path).expanduser()
    if not (path / WEIGHTS_FILE).is_file():
        raise FileNotFoundError(f"{name_or_path}: no lexical sentiment model at {path} (it needs "
                                f"{WEIGHTS_FILE}, as models.training.train_lexical_sentiment writes it)")
    return path


def lexical_spec(name_or_path: str) -> str:
    """The model as rows and fitted heads record it: the builtin's weights change between releases under
    one name, so its spec carries a short digest of them (`builtin:sentiment-kiwi-tfidf@1a2b3c4d`)."""
    return weights_spec(name_or_path, resolve_lexical(name_or_path) / WEIGHTS_FILE)


class LexicalSentiment:
    """Log-probabilities (n, 3) of negative / neutral / positive from morpheme lists or texts. Scores
    are per text and deterministic (float64 arithmetic over the stored arrays)."""

    def __init__(self, n_features: int, columns: np.ndarray, idf: np.ndarray, coef: np.ndarray,
                 intercept: np.ndarray):
        if coef.shape != (N_CLASSES, len(columns)) or idf.shape != (len(columns),):
            raise ValueError("a lexical model needs idf (k,) and coef (3, k) for its k columns")
        self.n_features = int(n_features)
        self.columns = np.asarray(columns, dtype=np.int64)
        self.idf = np.asarray(idf, dtype=np.float64)
        self.coef = np.asarray(coef, dtype=np.float64)
        self.intercept = np.asarray(intercept, dtype=np.float64)
        # hashed column -> position among the kept columns (-1: dropped at training, read as absent)
        self._position = np.full(self.n_features, -1, dtype=np.int32)
        self._position[self.columns] = np.arange(len(self.columns), dtype=np.int32)

    @classmethod
    def load(cls, name_or_path: str = BUILTIN_LEXICAL) -> LexicalSentiment:
        with np.load(resolve_lexical(name_or_path) / WEIGHTS_FILE, allow_pickle=False) as stored:
            # columns are stored as gaps between sorted indices, which compress far better
            return cls(int(stored["n_features"]), np.cumsum(stored["column_gaps"].astype(np.int64)),
                       stored["idf"], stored["coef"], stored["intercept"])

    def save(self, directory: Path, settings: dict[str, Any] | None = None) -> Path:
        """Writes the arrays (coefficients and idf as fp16) and, if given, the training settings."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / WEIGHTS_FILE
        np.savez_compressed(
            path, n_features=np.int64(self.n_features),
            column_gaps=np.diff(self.columns, prepend=0).astype(np.uint32),
            idf=self.idf.astype(np.float16), coef=self.coef.astype(np.float16),
            intercept=self.intercept.astype(np.float32))
        if settings is not None:
            (directory / SETTINGS_FILE).write_text(json.dumps(settings, indent=2, ensure_ascii=False) + "\n",
                                                   encoding="utf-8")
        return path

    def features(self, morpheme_lists: Sequence[Sequence[str]]) -> sp.csr_matrix:
        """The TF-IDF rows (n, k) the regression reads."""
        counts = hashed_counts(morpheme_lists, self.n_features)
        return tfidf_rows(counts, self._position, self.idf)

    def log_proba_morphemes(self, morpheme_lists: Sequence[Sequence[str]]) -> np.ndarray:
        """Log-probabilities (n, 3) in LABELS order of texts given as their `form/tag` morphemes."""
        if not morpheme_lists:
            return np.zeros((0, N_CLASSES))
        logits = self.features(morpheme_lists) @ self.coef.T + self.intercept
        return logits - _logsumexp(logits)

    def log_proba(self, texts: Sequence[str], kiwi: Any = None) -> np.ndarray:
        """Log-probabilities (n, 3) of texts, tokenised by Kiwi here."""
        return self.log_proba_morphemes(kiwi_morphemes(texts, kiwi))


def tfidf_rows(counts: sp.csr_matrix, position: np.ndarray, idf: np.ndarray) -> sp.csr_matrix:
    """Hashed counts restricted to the kept columns (`position` maps a hashed column to its place, or
    -1), sublinear tf × idf, rows L2-normalised (a row with no kept column stays zero)."""
    counts = counts.tocoo()
    place = position[counts.col]
    keep = place >= 0
    rows, cols = counts.row[keep], place[keep]
    values = (1.0 + np.log(counts.data[keep].astype(np.float64))) * idf[cols]
    out = sp.csr_matrix((values, (rows, cols)), shape=(counts.shape[0], len(idf)))
    norms = np.sqrt(np.asarray(out.multiply(out).sum(axis=1)).ravel())
    return sp.diags(1.0 / np.where(norms > 0, norms, 1.0)) @ out


def fit_lexical(morpheme_lists: Sequence[Sequence[str]], labels: np.ndarray, n_features: int = 2**20,
                min_df: int = 3, c: float = 2.0, seed: int = 13) -> LexicalSentiment:
    """Fits the view on labelled texts: columns seen in at least `min_df` texts, smoothed idf
    (ln((1 + n) / (1 + df)) + 1, as scikit-learn's), a balanced multinomial logistic regression with
    inverse regularisation `c` (lbfgs, deterministic for a fixed input)."""
    from sklearn.linear_model import LogisticRegression

    labels = np.asarray(labels)
    if sorted(set(labels.tolist())) != list(range(N_CLASSES)):
        raise ValueError("the lexical view is fitted on all three classes (0, 1, 2)")
    counts = hashed_counts(morpheme_lists, n_features)
    df = np.bincount(counts.indices, minlength=n_features)
    columns = np.flatnonzero(df >= min_df)
    idf = np.log((1.0 + counts.shape[0]) / (1.0 + df[columns])) + 1.0
    # rounded as stored, so the regression is fitted on the features inference computes
    idf = idf.astype(np.float16).astype(np.float64)
    position = np.full(n_features, -1, dtype=np.int64)
    position[columns] = np.arange(len(columns))
    x = tfidf_rows(counts, position, idf)
    lr = LogisticRegression(C=c, max_iter=2000, class_weight="balanced", random_state=seed)
    lr.fit(x, labels)
    return LexicalSentiment(n_features, columns, idf, lr.coef_, lr.intercept_)


def _logsumexp(logits: np.ndarray) -> np.ndarray:
    top = logits.max(axis=1, keepdims=True)
    return top + np.log(np.exp(logits - top).sum(axis=1, keepdims=True))


def blend_log_probabilities(model_probs: np.ndarray, lexical_log_probs: np.ndarray, weight: float,
                            temperature: float = 1.0) -> np.ndarray:
    """Probabilities (n, 3) ∝ exp(((1 − weight) · log p_model + weight · log p_lexical) / temperature):
    a weighted geometric mean of the two views, renormalised. `weight` 0 gives the model's own
    probabilities (at temperature 1), 1 the lexical view's."""
    if not 0.0 <= weight <= 1.0 or temperature <= 0:
        raise ValueError("weight must be in [0, 1] and temperature positive")
    logp = np.log(np.clip(np.asarray(model_probs, dtype=np.float64), 1e-12, None))
    z = ((1.0 - weight) * logp + weight * np.asarray(lexical_log_probs, dtype=np.float64)) / temperature
    return np.exp(z - _logsumexp(z))
