"""The NLP pipeline: named components applied in order to a batch of documents, as in spaCy.

    normalize → mask → sentences → sentiment → embed → pain → tag → topics → severity

Every component follows one contract (`Component`): it names the document and sentence attributes it
`requires` and those it `assigns`, and the pipeline checks when it is built that each requirement is
assigned by an earlier component, so swapping or dropping one (`replace`, `without`) fails at once,
not on the first batch. Components take their heavy parts from one `Resources`. The pipeline runs
without Prefect: flows only call it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Protocol, runtime_checkable

from models.lexical import lexical_spec
from models.sentiment import sentiment_spec
from models.voc import voc_spec
from pipeline import __version__
from pipeline.components.embedder import EmbedSentences
from pipeline.components.pain import PainDetector
from pipeline.components.prepare import Mask, Normalize, SplitSentences
from pipeline.components.sentiment import SentenceSentiment
from pipeline.components.severity import SeverityScorer
from pipeline.components.tagger import PainTagger, phrases_digest
from pipeline.components.topics import TopicAssigner
from pipeline.config import SoriConfig
from pipeline.document import Conversation, Document, FeedbackItem
from pipeline.resources import Resources
from pipeline.topics.model import TopicModel

log = logging.getLogger("sori.nlp")

# What a document holds before any component ran.
SOURCE_ATTRIBUTES = ("doc.item", "doc.conversation")


@runtime_checkable
class Component(Protocol):
    """A stage over a batch of documents that sets what it `assigns` and reads only what it `requires`
    ("doc.<field>" or "sentence.<field>"). A `corpus_level` component sees every document of a run at
    once; the others may run on any chunk."""

    name: ClassVar[str]
    requires: ClassVar[tuple[str, ...]]
    assigns: ClassVar[tuple[str, ...]]
    corpus_level: ClassVar[bool]

    def __call__(self, docs: Sequence[Document]) -> Sequence[Document]: ...


DEFAULT_COMPONENTS = (Normalize, Mask, SplitSentences, SentenceSentiment, EmbedSentences, PainDetector,
                      PainTagger, TopicAssigner, SeverityScorer)


class MissingRequirement(ValueError):
    """A component requires an attribute no earlier component assigns."""


def documents(items: Iterable[FeedbackItem], conversations: Iterable[Conversation] = ()) -> list[Document]:
    """One document per item, each chat turn carrying the facts of its conversation."""
    by_id = {(c.source, c.conversation_id): c for c in conversations}
    return [Document(item=item, conversation=by_id.get((item.source, item.conversation_id)))
            for item in items]


@dataclass
class Pipeline:
    components: list[Component]
    models: str = ""
    given: tuple[str, ...] = SOURCE_ATTRIBUTES  # attributes the input documents already carry
    timings: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        available = set(self.given)
        for component in self.components:
            missing = [attribute for attribute in component.requires if attribute not in available]
            if missing:
                raise MissingRequirement(f"component {component.name!r} requires {', '.join(missing)}, which "
                                         f"no component before it assigns (pipeline: {self.names})")
            available.update(component.assigns)

    @classmethod
    def from_config(cls, config: SoriConfig, resources: Resources | None = None) -> Pipeline:
        """The default components, built from the config over the process's Resources."""
        resources = resources or Resources.for_models(config.models)
        taxonomy = config.load_taxonomy()
        models = config.models
        used = (f"voc={voc_spec(models.voc)}" if models.voc else
                f"encoder={models.encoder};sentiment={sentiment_spec(models.sentiment)}")
        if models.lexical_sentiment:
            used += f";lexical={lexical_spec(models.lexical_sentiment)}@w{models.lexical_weight:g}"
        models_used = (f"sori={__version__};{used};backend={models.backend};taxonomy=v{taxonomy.version};"
                       f"phrases={phrases_digest(config.tagging.phrases)};"
                       f"pain_examples={phrases_digest(config.pain.examples)}")
        return cls([factory.from_config(config, resources) for factory in DEFAULT_COMPONENTS], models_used)

    @property
    def topics(self) -> TopicAssigner | None:
        return next((c for c in self.components if isinstance(c, TopicAssigner)), None)

    @property
    def model_version(self) -> str:
        """What produced a row: sori's version, models, taxonomy version, phrase and example files, and
        the topic model in use."""
        topics = self.topics
        return f"{self.models};topics={topics.version}" if topics else self.models

    @property
    def topic_model(self) -> TopicModel | None:
        topics = self.topics
        return topics.model if topics else None

    def topic_rows(self) -> list[dict[str, object]]:
        return self.topic_model.table() if self.topic_model else []

    @property
    def names(self) -> list[str]:
        return [component.name for component in self.components]

    def get(self, name: str) -> Component:
        return self.components[self.names.index(name)]

    def replace(self, name: str, component: Component) -> Pipeline:
        if name not in self.names:
            raise KeyError(f"no component {name!r}; have {self.names}")
        replaced = [component if c.name == name else c for c in self.components]
        return Pipeline(replaced, self.models, self.given)

    def without(self, *names: str) -> Pipeline:
        return Pipeline([c for c in self.components if c.name not in names], self.models, self.given)

    def __call__(self, items: Iterable[FeedbackItem], conversations: Iterable[Conversation] = (),
                 batch_size: int = 512, save_topics: bool = False) -> list[Document]:
        """Every stage over these items, fitting a first topic model when there is none (`mine`)."""
        return self.mine(documents(items, conversations), batch_size, save_topics)

    def mine(self, docs: list[Document], batch_size: int = 512, save_topics: bool = False) -> list[Document]:
        """The batch-level stages, then the explicit topic step (a first model fitted on these documents'
        pain sentences when none exists, saved for later runs when `save_topics`), then the rest."""
        head, tail = self.split()
        head.run(docs, batch_size)
        self.fit_topics_if_missing(docs, save_topics)
        return tail.run(docs, batch_size)

    def fit_topics_if_missing(self, docs: Sequence[Document], save: bool) -> None:
        if self.topics is not None:
            self.topics.fit_if_missing(docs, save)

    def run(self, docs: list[Document], batch_size: int = 512) -> list[Document]:
        """Batch-level components run chunk by chunk with progress; corpus-level ones see all documents
        together."""
        for stage in self._stages():
            chunk_size = len(docs) if stage[0].corpus_level else batch_size
            for offset in range(0, len(docs), max(chunk_size, 1)):
                chunk = docs[offset : offset + chunk_size]
                for component in stage:
                    started = time.perf_counter()
                    component(chunk)
                    self.timings[component.name] = (self.timings.get(component.name, 0.0)
                                                    + time.perf_counter() - started)
                log.info("%s: %d/%d documents", "+".join(c.name for c in stage),
                         min(offset + chunk_size, len(docs)), len(docs))
        return docs

    def warm_up(self) -> None:
        """Loads now what components would otherwise load on first use (a `warm_up` method, as the saved
        topic model has): building a pipeline stays cheap, and a caller that has time to spare, such as
        a flow waiting for Prefect's server (`Sori.open_in_background`), spends it here."""
        for component in self.components:
            warm_up = getattr(component, "warm_up", None)
            if warm_up is not None:
                warm_up()

    def split(self) -> tuple[Pipeline, Pipeline]:
        """The batch-level head, which can run on many workers over chunks of documents, and the rest,
        from the first corpus-level component on, which must see the whole run at once."""
        cut = next((i for i, c in enumerate(self.components) if c.corpus_level), len(self.components))
        head = Pipeline(self.components[:cut], self.models, self.given)
        assigned = tuple(a for c in head.components for a in c.assigns)
        return head, Pipeline(self.components[cut:], self.models, self.given + assigned)

    def _stages(self) -> list[list[Component]]:
        """Consecutive batch-level components form one stage; each corpus-level one is a stage alone."""
        stages: list[list[Component]] = []
        for component in self.components:
            if component.corpus_level or not stages or stages[-1][0].corpus_level:
                stages.append([component])
            else:
                stages[-1].append(component)
        return stages
