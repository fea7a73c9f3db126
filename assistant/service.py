"""The assembled pipeline that the CLI and the web service share: corpus, index, retriever, answerer.

Loaded once per process: the model and the index are the expensive parts.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.answers import Answer, Answerer
from assistant.corpus import Corpus, load_corpus
from assistant.embeddings import Embedder
from assistant.index import Index, load_index
from assistant.retrieval import Filters, Hit, Retriever
from assistant.settings import Settings


@dataclass
class Assistant:
    settings: Settings
    corpus: Corpus
    retriever: Retriever
    answerer: Answerer

    @classmethod
    def open(cls, settings: Settings) -> Assistant:
        """Load corpus and index; raises IndexNotReady (with the command to fix it) when the index is stale."""
        corpus = load_corpus(settings.corpus_dir)
        embedder = Embedder.from_settings(settings)
        index = load_index(settings, corpus, embedder)
        retriever = Retriever(index, embedder)
        answerer = Answerer(retriever, settings)
        use_stored_sentences(answerer, index)
        return cls(settings, corpus, retriever, answerer)

    def search(
        self, query: str, k: int | None = None, filters: Filters | None = None, mode: str = "hybrid"
    ) -> list[Hit]:
        return self.retriever.search(query, k=k or self.settings.top_k, filters=filters, mode=mode)

    def ask(
        self, question: str, history: list[dict] | None = None, k: int | None = None, filters: Filters | None = None
    ) -> Answer:
        return self.answerer.ask(question, history=history, k=k, filters=filters)


def use_stored_sentences(answerer: Answerer, index: Index) -> None:
    """Hand the answerer the sentence vectors the index build embedded, so that it embeds none per question.

    answers.Sentences embeds a passage's sentences on first sight and keeps them by passage id; filled here
    from the index, it finds every passage already there (same spans, same model and backend).
    """
    for position, passage in enumerate(index.passages):
        answerer.sentences.spans[passage.id], answerer.sentences.vectors[passage.id] = index.sentence_vectors(position)
