"""Compose: a direct answer first, then the evidence, quoted verbatim with who said it, when, and the citation.

For a typed question (who, when, where, how many, which document, which article) the direct answer is the typed
span taken from the best quoted sentence; a free-text question is answered by its best sentences. Quotes are
narrowed to the sentences that carry the answer (the whole paragraph is one click away). Every part of a
multi-part question is answered or said to be unanswered; a list question quotes every passage that adds an item.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.answering.gather import AGENDA_LINE, DATE, MONTH, TYPE_EVIDENCE, Evidence, asked, echoes, of_grain
from assistant.answering.knowledge import Knowledge, is_chair, state_pattern, states_in
from assistant.answering.read import Part
from assistant.answering.records import Citation
from assistant.documents import Document
from assistant.text import STOPWORDS, fold, human_date, stems

MAX_QUOTES = 3  # passages quoted for a plain part
MAX_QUOTES_LIST = 6  # ... for a list or several-sources part
KEEP_RATIO = 0.85  # a further passage is quoted when its best sentence scores this share of the best
KEEP_RATIO_LIST = 0.7
TOP_HIT_RATIO = 0.5  # the retriever's first passage is quoted too when its best sentence scores this share of the best
# A neighbouring sentence joins a quote when it scores this share of the quote's lead, up to MAX_SENTENCES in one
# contiguous span. Measured over twelve question sets (README): fuller quotes carry more facts and cost words; from
# 0.8 / 3, this pair gained the most facts per word (facts 0.836 -> 0.848, no set lower; median answer 187 -> 211 words)
NEIGHBOUR_RATIO = 0.7
MAX_SENTENCES = 4
NEIGHBOUR_RATIO_SPEAKER = 0.7  # a question naming the passage's speaker asks what they said: quoted more fully
MAX_SENTENCES_SPEAKER = 5
HEADER_RATIO = 0.95  # an adjacent header line joins when it answers nearly as well
LIST_ITEMS = 8  # paragraphs quoted after a passage that introduces them with ':'

SHORT_SPAN_WORDS = 16  # a quote this short is a topic sentence: the next one carries the substance
LATEST_FIRST_MARGIN = 0.05  # records of different dates answering about equally well: the latest first

TIME_SPAN = re.compile(r"\b\d{1,2}(?:[.:]\d{2})?\s?[ap]\.m\.|\bnoon\b", re.I)
PERSON_SPAN = re.compile(r"\b(?:Mr|Ms|Mrs|Dr|Prof)\.? (?:[A-ZÀ-Ý][\w'’\-]+ ?){1,3}")
ARTICLE_SPAN = re.compile(r"\barticles? \d+(?: ?\(\d+\))?(?:(?:,| and| or) \d+(?: ?\(\d+\))?)*", re.I)
DOCUMENT_SPAN = re.compile(  # with the paragraph it points to, when it does: 'paragraph 48 of general comment No. 5'
    r"\b(?:paragraphs? \d+(?: ?\([a-z]\))?(?: (?:and|to) \d+)? of (?:its |the )?)?"
    r"(?:(?:[A-Z]{2,6}/)+[A-Z0-9./-]+\b|(?:joint )?general (?:comment|recommendation) No\. ?\d+(?: \(\d{4}\))?)",
    re.I,
)
PLACE_SPAN = re.compile(  # not a month: 'in April 2019' is a time
    rf"\b(?:Held at the |at the |in )(?!{MONTH}\b)((?:Palais [A-Z]\w+|[A-Z][\w\-]+)(?:, [A-Z][\w\-]+)?)"
)
NUMBER_SPAN = re.compile(
    r"\b(?:\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
    r"hundred|thousand)(?: (?:million|billion|thousand|hundred|per ?cent|%))?(?: [a-zA-Z][\w\-]*){0,3}",
    re.I,
)
SHARE_SPAN = re.compile(
    r"\b\d[\d,.]*\s?(?:per ?cent|%)|\b(?:one|two|three) in (?:two|three|four|five|ten)\b|\b(?:a|one|two)[ -](?:half|third"
    r"|quarter|fifth)s?\b|\bmajority\b",
    re.I,
)
AMOUNT_SPAN = TYPE_EVIDENCE["amount"]
DATE_AFTER = re.compile(
    r"\d{1,2} (?:January|February|March|April|May|June|July|August|September|October|November|December)\b|(?:1[89]|20)\d\d\b"
)


@dataclass
class Quote:
    """A contiguous span of one passage's sentences, and the evidence that chose it."""

    evidence: list[Evidence]

    @property
    def passage(self):
        return self.evidence[0].passage

    @property
    def span(self) -> tuple[int, int]:
        return min(e.span[0] for e in self.evidence), max(e.span[1] for e in self.evidence)

    @property
    def text(self) -> str:
        start, end = self.span
        return self.passage.text[start:end]

    @property
    def score(self) -> float:
        return max(e.score for e in self.evidence)

    @property
    def lead(self) -> Evidence:
        return max(self.evidence, key=lambda e: e.score)


def choose_quotes(evidence: list[Evidence], part: Part, many: bool) -> list[Quote]:
    """The best sentence, then the best of further passages while they score close to it; each passage once, as a
    short contiguous span grown from its chosen sentence, run on to a second sentence of the passage (at most
    MAX_SENTENCES further) that scores as close."""
    if not evidence:
        return []
    limit, keep = (MAX_QUOTES_LIST, KEEP_RATIO_LIST) if part.wants_list or many else (MAX_QUOTES, KEEP_RATIO)
    best = evidence[0].score
    by_passage: dict[str, dict[int, Evidence]] = {}
    for e in evidence:
        by_passage.setdefault(e.passage.id, {})[e.index] = e
    chosen: dict[str, list[Evidence]] = {}
    speakers: set[tuple] = set()
    for e in evidence:
        if len(chosen) >= limit or e.score < best * keep:
            break
        leads = chosen.get(e.passage.id)
        if leads is not None:
            if len(leads) == 1 and 0 < abs(e.index - leads[0].index) <= MAX_SENTENCES:
                leads.append(e)  # a sentence a little further on answers nearly as well: the quote runs on to it
            continue
        who = (e.passage.doc_id, e.passage.speaker, e.passage.affiliation)
        if (part.wants_list or many) and e.passage.speaker and who in speakers and not e.by_speaker:
            continue  # several sources wanted: one passage per speaker, unless the question names the speaker
        chosen[e.passage.id] = [e]
        speakers.add(who)
    # retrieval ranks passages better than gather ranks their sentences when the question's words are not the records'
    # own: the first passage is quoted too; not beside a header line, which answers what retrieval cannot rank (a
    # header embeds as a jumble of fields)
    first = next((e for e in evidence if e.hit.rank == 1), None)
    if first and first.passage.id not in chosen and first.score >= best * TOP_HIT_RATIO and not evidence[0].header_line:
        chosen[first.passage.id] = [first]
    return latest_first(
        [Quote([s for lead in leads for s in grow(lead, by_passage[pid])]) for pid, leads in chosen.items()]
    )


def grow(lead: Evidence, sentences: dict[int, Evidence]) -> list[Evidence]:
    """The lead sentence, then neighbours while they score nearly as well, or while the span is very short;
    a header is quoted line by line. A sentence that ends in ':' brings what it introduces."""
    if lead.passage.kind == "header":
        return header_span(lead, sentences)
    span = [lead]
    longest, ratio = (
        (MAX_SENTENCES_SPEAKER, NEIGHBOUR_RATIO_SPEAKER) if lead.by_speaker else (MAX_SENTENCES, NEIGHBOUR_RATIO)
    )
    while len(span) < longest:
        before, after = sentences.get(span[0].index - 1), sentences.get(span[-1].index + 1)
        words = sum(len(e.text.split()) for e in span)
        if after and (words < SHORT_SPAN_WORDS or span[-1].text.rstrip().endswith(":")):
            span.append(after)
            continue
        near = max((e for e in (before, after) if e), key=lambda e: e.score, default=None)
        if near is None or near.score < lead.score * ratio:
            break
        span = sorted([*span, near], key=lambda e: e.index)
    return span


def header_span(lead: Evidence, lines: dict[int, Evidence]) -> list[Evidence]:
    """A header's lines stand alone: an adjacent line of the same kind joins when it answers nearly as well, and every
    item of the contents joins an agenda item (the agenda is one list)."""
    span = [lead]
    if not lead.header_line:
        return span
    for step in (-1, 1):
        index = lead.index + step
        while (near := lines.get(index)) is not None and near.header_line == lead.header_line:
            if lead.header_line != AGENDA_LINE:
                if near.score >= lead.score * HEADER_RATIO:
                    span.append(near)
                break
            span.append(near)
            index += step
    return sorted(span, key=lambda e: e.index)


def list_items(passage, in_order: list) -> list:
    """The paragraphs a passage ending in ':' introduces ('Five relevant documents have been developed ...:'): the
    next ones of its section, up to LIST_ITEMS, while they keep the shape of a list."""
    following = in_order[passage.order + 1 : passage.order + 1 + LIST_ITEMS]
    items: list = []
    for p in following:
        if p.section != passage.section or p.kind != "paragraph":
            break
        if items and item_shape(p) != item_shape(items[0]) and items[-1].text.rstrip().endswith("."):
            break  # '(e) ... de Mora.' closed the list; what follows is prose again
        items.append(p)
    return items


def item_shape(passage) -> str:
    """How a list item opens: '(a)' and '(b)' alike, 'Axis No. 1' and 'Axis No. 2' alike."""
    first = passage.text.split(maxsplit=1)[0] if passage.text.split() else ""
    return "(x)" if re.fullmatch(r"\(\w{1,4}\)", first) else first


def latest_first(quotes: list[Quote]) -> list[Quote]:
    if len(quotes) < 2:
        return quotes
    best = quotes[0].score
    close = [q for q in quotes if best - q.score <= LATEST_FIRST_MARGIN]
    rest = [q for q in quotes if q not in close]
    if len({q.passage.date for q in close}) > 1:
        close.sort(key=lambda q: q.passage.date or "", reverse=True)
    return close + rest


# ---- the direct answer: a typed span from the quoted sentence ----


def typed_span(part: Part, quote: Quote, knowledge: Knowledge) -> str | None:
    """The words of the best sentence that answer a typed question ('60 States parties', '13 December 2024')."""
    kind, question = part.answer_type, part.text
    sentence = quote.lead.text
    passage = quote.passage
    given = asked(question)
    if kind == "person":
        if passage.speaker and re.search(
            r"\b(?:said|say|spoke|speak|rais|propos|suggest|mention|argu|stress|"
            r"recommend|ask|call|express|warn|note|point|highlight)",
            given,
        ):
            return speaker_name(passage, knowledge)
        found = [m.group().strip() for m in PERSON_SPAN.finditer(sentence) if not echoes(m.group().split()[-1], given)]
        return found[0] if found else None  # 'Who led the ILO delegation?' is not answered by who reported it
    if kind == "state":
        named = set(states_in(question))
        found = [s for s in states_in(sentence) if s not in named]
        return ", ".join(found[:6]) if found else None
    if kind == "document":
        found = [m.group() for m in DOCUMENT_SPAN.finditer(sentence)]
        return found[0] if found else f"{passage.document} ({passage.title})" if passage.title else passage.document
    pattern = {
        "date": DATE,
        "time": TIME_SPAN,
        "article": ARTICLE_SPAN,
        "share": SHARE_SPAN,
        "amount": AMOUNT_SPAN,
        "number": NUMBER_SPAN,
    }.get(kind)
    if kind == "place":
        match = PLACE_SPAN.search(sentence)
        return match.group(1) if match else None
    if pattern is None:
        return None
    asked_stems = set(stems(question))
    candidates = []
    for match in pattern.finditer(sentence):
        span = match.group().strip(" ,;")
        span = span if re.search(r"\b[ap]\.m\.$", span) else span.rstrip(".")
        identifier = re.search(r"\b(?:No|Nos|para|paras|art|arts|article|articles)\.? ?$", sentence[: match.start()])
        if echoes(span, given) or (kind == "number" and (DATE_AFTER.match(sentence, match.start()) or identifier)):
            continue  # the question's own number is not its answer; '21 February' is a date, 'No. 3' a name
        if kind == "date" and not of_grain(span, part.grain):
            continue
        span = without_trailing_stopwords(span)  # '60 States Parties to' -> '60 States Parties'
        near = sentence[match.start() : match.end() + 40]
        candidates.append((-len(asked_stems & set(stems(near))), match.start(), span))
    return min(candidates)[2] if candidates else None


def without_trailing_stopwords(span: str) -> str:
    tokens = span.split()
    while len(tokens) > 1 and fold(tokens[-1]) in STOPWORDS:
        tokens.pop()
    return " ".join(tokens)


def speaker_name(passage, knowledge: Knowledge) -> str | None:
    """'Mr. Flynn (Global Detention Project)'; the Chair with the name the record's header gives."""
    if not passage.speaker:
        return None
    who = passage.speaker
    chair = knowledge.chair_of(passage)
    if chair:
        who = f"{who} ({chair})"
    return f"{who} ({passage.affiliation})" if passage.affiliation else who


# ---- evidence lines ----


def attributed(passage, quote: str, n: int, knowledge: Knowledge, documents: dict[str, Document]) -> str:
    """'On 27 September 2022, Mr. Flynn (Global Detention Project) said: “...” [1]'; a document without a speaker
    is named instead ('According to CMW/C/GC/5 (2021): ...')."""
    who = speaker_name(passage, knowledge)
    when = on_date(passage.date)
    if not who:
        shown = "; ".join(f"“{line}”" for line in quote.split("\n") if line.strip())  # a header, line by line
        return f"According to {document_name(passage, documents)} ({human_date(passage.date)}): {shown} [{n}]"
    if quote.startswith((passage.speaker or "\0").split(" (")[0]):
        return f"{when}: “{quote}” [{n}]"  # the record names its speaker itself: 'Mr. Salama (...) asked ...'
    who = re.sub(r"^The ", "the ", who)
    return f"{when}, {who} said: “{quote}” [{n}]"


def document_name(passage, documents: dict[str, Document]) -> str:
    """What a reader calls a document: its symbol ('CMW/C/SR.506'), else a name made from its kind and title."""
    document = documents.get(passage.doc_id)
    if document is None or document.symbol:
        return passage.document
    subject = document.title.split(":")[0].strip()
    numbered = re.match(r"(.*?\bNo\. ?\d+)", subject)
    subject = re.sub(
        r"\b(?!No\b)[A-Z][a-z]+\b", lambda m: m.group().lower(), numbered.group(1) if numbered else subject
    )
    author = "the Committee's" if (document.body or "").startswith("Committee") else "the"
    kind = document.kind.replace("_", " ")
    name = f"{author} {kind} on {subject}" if subject else f"{author} {kind}"
    return name if len(name) <= 90 else document.id


def on_date(iso: str | None) -> str:
    """'On 27 September 2022', 'In September 2013', 'In 2022': as precise as the record's date."""
    text = human_date(iso)
    return f"On {text}" if text[:1].isdigit() and len(text.split()) == 3 else f"In {text}"


def citation(n: int, quote: Quote) -> Citation:
    return Citation.of(n, quote.passage, quote.text, quote.score)


__all__ = ["Quote", "attributed", "choose_quotes", "citation", "is_chair", "state_pattern", "typed_span"]
