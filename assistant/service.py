"""The assembled pipeline that the CLI and the web service share: corpus, index, retriever, answerer.

Loaded once per process: the model and the index are the expensive parts.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.answering import Answer, Answerer
from assistant.corpus import Corpus, load_corpus
from assistant.embeddings import Embedder
from assistant.index import load_index
from assistant.retrieval import Filters, Hit, Retriever
from assistant.settings import Settings

WARM_UP_QUESTION = "What did the Committee say about the rights of migrant workers?"


@dataclass
class Assistant:
    settings: Settings
    corpus: Corpus
    retriever: Retriever
    answerer: Answerer

    @classmethod
    def open(cls, settings: Settings, judge=None, checker=None) -> Assistant:
        """Load corpus and index; raises IndexNotReady (with the command to fix it) when the index is stale."""
        corpus = load_corpus(settings.corpus_dirs)
        embedder = Embedder.from_settings(settings)
        index = load_index(settings, corpus, embedder)
        retriever = Retriever(index, embedder)
        answerer = Answerer(retriever, settings, judge, checker)
        answerer.sentences.store(index.passages, index.sentences)  # embedded with the index: none per question
        return cls(settings, corpus, retriever, answerer)

    def warm_up(self) -> None:
        """Answer one question before the first user's: the model loads, ONNX Runtime sizes its buffers and the
        regular expressions compile, so the first answers take as long as the later ones. No LLM is called."""
        self.answerer.compose(self.answerer.draft(WARM_UP_QUESTION))

    def search(
        self, query: str, k: int | None = None, filters: Filters | None = None, mode: str = "hybrid"
    ) -> list[Hit]:
        return self.retriever.search(query, k=k or self.settings.top_k, filters=filters, mode=mode)

    def ask(
        self, question: str, history: list[dict] | None = None, k: int | None = None, filters: Filters | None = None
    ) -> Answer:
        return self.answerer.ask(question, history=history, k=k, filters=filters)
