"""Answers that quote the records verbatim, say who said it and when, and cite the paragraph.

The stages run one way, each in its own module:
    read.py     the question's parts, focus, answer type and what it names (pure parsing)
    gather.py   evidence sentences from the retrieved passages, scored against each part
    judge.py    a calibrated probability that the evidence answers each part (judge.json)
    compose.py  a direct answer first, then the narrowed, attributed quotes
    verify.py   every quote verbatim in its passage
knowledge.py holds what the corpus names (speakers, records, States); answerer.py runs the stages.
"""

from assistant.answering.answerer import Answerer, Draft
from assistant.answering.records import Answer, Citation, PartAnswer, QuestionError

__all__ = ["Answer", "Answerer", "Citation", "Draft", "PartAnswer", "QuestionError"]
