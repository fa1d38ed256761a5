"""The NLP pipeline: named components applied in order to a batch of documents, as in spaCy.

    normalize → mask → sentences → sentiment → embed → pain → tag → topics → severity

Each component is a small callable over `Sequence[Document]` with a `name`, so a user can swap or
drop one (`Pipeline.replace`, `Pipeline.without`) without touching the others. The pipeline runs
without Prefect: flows only call it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from models.onnx import sentiment_model
from models.sentiment import sentiment_spec
from pipeline import __version__
from pipeline.components.embedder import Embedder, EmbedSentences
from pipeline.components.pain import PainDetector
from pipeline.components.sentiment import SentenceSentiment
from pipeline.components.severity import SeverityScorer
from pipeline.components.tagger import PainTagger, configured_phrases, phrases_digest
from pipeline.config import SoriConfig, Taxonomy
from pipeline.document import Conversation, Document, FeedbackItem
from pipeline.text.korean import KoreanAnalyzer, shared_kiwi
from pipeline.text.language import detect_language
from pipeline.text.normalize import normalize_text
from pipeline.text.pii.masker import PiiMasker
from pipeline.topics.model import TopicAssigner, TopicModel

log = logging.getLogger("sori.nlp")

Component = Callable[[Sequence[Document]], Sequence[Document]]


class Normalize:
    """Normalises the text and flags its language: non-Korean feedback is kept and marked."""

    name = "normalize"

    def __call__(self, docs: Sequence[Document]) -> Sequence[Document]:
        for doc in docs:
            doc.text = normalize_text(doc.item.text)
            doc.language = detect_language(doc.text)
        return docs


class Mask:
    """Personal data is masked before any later stage sees the text, so nothing downstream can leak it."""

    name = "mask"

    def __init__(self, masker: PiiMasker):
        self.masker = masker

    def __call__(self, docs: Sequence[Document]) -> Sequence[Document]:
        for doc, masked in zip(docs, self.masker.mask_many([d.text for d in docs]), strict=True):
            doc.masked_text = masked.text
            doc.masked_kinds = sorted(set(masked.kinds))
        return docs


class SplitSentences:
    name = "sentences"

    def __init__(self, analyzer: KoreanAnalyzer):
        self.analyzer = analyzer

    def __call__(self, docs: Sequence[Document]) -> Sequence[Document]:
        for doc, sentences in zip(docs, self.analyzer.sentences([d.masked_text for d in docs]), strict=True):
            doc.sentences = sentences
        return docs


def documents(items: Iterable[FeedbackItem], conversations: Iterable[Conversation] = ()) -> list[Document]:
    """One document per item, each chat turn carrying the facts of its conversation."""
    by_id = {(c.source, c.conversation_id): c for c in conversations}
    return [Document(item=item, conversation=by_id.get((item.source, item.conversation_id)))
            for item in items]


def complaint_texts(config: SoriConfig, taxonomy: Taxonomy) -> list[str]:
    """Every text of the phrase file, whatever its labels: a taxonomy edit re-tags pain points but
    must not change which sentences are pain points (so not the taxonomy's examples either)."""
    return [p.text for p in configured_phrases(taxonomy, config.tagging.phrases)]


@dataclass
class Pipeline:
    components: list[tuple[str, Component]]
    models: str = ""
    timings: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: SoriConfig, persist_topics: bool = True) -> Pipeline:
        kiwi = shared_kiwi()
        analyzer = KoreanAnalyzer(kiwi)
        models = config.models
        embedder = Embedder(models.encoder, models.device, models.batch_size, models.backend)
        classifier = sentiment_model(models.sentiment, models.device, models.backend)
        taxonomy = config.load_taxonomy()
        parts: list[Component] = [
            Normalize(),
            Mask(PiiMasker(kiwi)),
            SplitSentences(analyzer),
            SentenceSentiment(classifier, models.batch_size),
            EmbedSentences(embedder),
            PainDetector.from_config(taxonomy.complaint_cues, config.sentiment, config.pain,
                                     complaint_texts(config, taxonomy), classifier, embedder,
                                     {(s.name, s.score_reason) for s in config.sources if s.score_reason}),
            PainTagger(taxonomy, embedder, config.tagging),
            TopicAssigner(config.topics, embedder, analyzer, persist=persist_topics),
            SeverityScorer(),
        ]
        models_used = (f"sori={__version__};encoder={models.encoder};"
                       f"sentiment={sentiment_spec(models.sentiment)};taxonomy=v{taxonomy.version};"
                       f"phrases={phrases_digest(config.tagging.phrases)};"
                       f"pain_examples={phrases_digest(config.pain.examples)}")
        return cls([(part.name, part) for part in parts], models_used)  # type: ignore[attr-defined]

    def _topics(self) -> TopicAssigner | None:
        return next((c for _, c in self.components if isinstance(c, TopicAssigner)), None)

    @property
    def model_version(self) -> str:
        """What produced a row: sori's version, models, taxonomy version, phrase and example files, and
        the topic model in use."""
        topics = self._topics()
        return f"{self.models};topics={topics.version}" if topics else self.models

    @property
    def topic_model(self) -> TopicModel | None:
        topics = self._topics()
        return topics.model if topics else None

    def topic_rows(self) -> list[dict[str, object]]:
        return self.topic_model.table() if self.topic_model else []

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.components]

    def get(self, name: str) -> Component:
        return dict(self.components)[name]

    def replace(self, name: str, component: Component) -> Pipeline:
        if name not in self.names:
            raise KeyError(f"no component {name!r}; have {self.names}")
        return Pipeline([(n, component if n == name else c) for n, c in self.components], self.models)

    def without(self, *names: str) -> Pipeline:
        return Pipeline([(n, c) for n, c in self.components if n not in names], self.models)

    def __call__(self, items: Iterable[FeedbackItem], conversations: Iterable[Conversation] = (),
                 batch_size: int = 512) -> list[Document]:
        return self.run(documents(items, conversations), batch_size)

    def run(self, docs: list[Document], batch_size: int = 512) -> list[Document]:
        """Batch-level components run chunk by chunk with progress; corpus-level ones (topic fitting
        needs every pain sentence of the run at once) see all documents together."""
        for stage in self._stages():
            chunk_size = len(docs) if getattr(stage[0][1], "corpus_level", False) else batch_size
            for offset in range(0, len(docs), max(chunk_size, 1)):
                chunk = docs[offset : offset + chunk_size]
                for name, component in stage:
                    started = time.perf_counter()
                    component(chunk)
                    self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - started
                log.info("%s: %d/%d documents", "+".join(n for n, _ in stage),
                         min(offset + chunk_size, len(docs)), len(docs))
        return docs

    def split(self) -> tuple[Pipeline, Pipeline]:
        """The batch-level head, which can run on many workers over chunks of documents, and the rest,
        from the first corpus-level component on, which must see the whole run at once."""
        cut = next((i for i, (_, c) in enumerate(self.components) if getattr(c, "corpus_level", False)),
                   len(self.components))
        return (Pipeline(self.components[:cut], self.models), Pipeline(self.components[cut:], self.models))

    def _stages(self) -> list[list[tuple[str, Component]]]:
        """Consecutive batch-level components form one stage; each corpus-level one is a stage alone."""
        stages: list[list[tuple[str, Component]]] = []
        for name, component in self.components:
            corpus = getattr(component, "corpus_level", False)
            if corpus or not stages or getattr(stages[-1][0][1], "corpus_level", False):
                stages.append([(name, component)])
            else:
                stages[-1].append((name, component))
        return stages
