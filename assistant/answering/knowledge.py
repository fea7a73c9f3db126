"""What the answerer knows about its corpus, collected once from the passages: vocabulary and word rarity,
documents (meetings, sessions, symbols), speakers, and the States of the world.

Questions name things loosely ('the Mexican delegate', 'Mr. Flin', 'the IOM representative'); the lookups here
find what they name in the corpus, or say that the corpus has nothing by that name. They give evidence, never a
verdict: the judge weighs it.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cache, cached_property, lru_cache
from pathlib import Path

from assistant.passages import Passage
from assistant.text import (
    NAME_PARTICLES,
    STOPWORDS,
    acronym,
    fold,
    ordinal_word,
    stem,
    stems,
    without_possessive,
    words,
)

DATA = Path(__file__).resolve().parent.parent / "data"
# what a demonym adds to the start of its State's name: Mexic-an, Tunisia-n, Azerbaijan-i, Japan-ese, Peru-vian; a
# bare start is the name cut short, as in 'University of Tunis'
DEMONYM_ENDING = re.compile(r"(?:v?ians?|eans?|ans?|ns?|ese|ish|is?|ic|ites?|ers?|ines?|)")
COMMON_SHARE = 0.05
# Words that name no particular speaker: 'the representative of the Government', 'the International ... Office'
GENERIC_SPEAKER_WORDS = frozenset(
    """the a an of for from at in on to and international national human rights committee council office organization
    organisation association university centre center institute network nations united representative
    representatives delegation delegations delegate government ministry department speaker spokesperson member person
    people country state mr ms mrs dr""".split()
)
# what a delegation's line adds to its State's name: 'Permanent Mission of Mexico', 'Observer for ...'
DELEGATION_WORDS = frozenset(
    """the of for to and government delegation delegate delegates representative representatives observer observers permanent
    mission""".split()
)
STATE_NAME_WORDS = frozenset(  # words of many States' names: no demonym of one State
    """united republic democratic islands island state states kingdom federation federal federated
    plurinational arab islamic socialist bolivarian people's peoples""".split()
)
CHAIR_NAMES = ("chair", "chairperson", "chairman", "chairwoman")  # one role: 'Chairperson' in 2013, 'Chair' since
TITLE_WORDS = frozenset(["mr", "ms", "mrs", "mme", "dr", "prof", "the", *CHAIR_NAMES])


# A record's header is read line by line; each kind of line is named by the words users ask it with. This is what
# any UN summary record's header holds (chair, place and date, opening and closing times, issue date, language,
# agenda), not a list of questions.
HEADER_LEXICON: list[tuple[re.Pattern, str]] = [
    (re.compile(r"^Chair(?:person|man|woman)?:", re.I), "chair chaired chairperson presided preside head led"),
    (re.compile(r"^Held at\b", re.I), "held where place venue location building city day took"),
    (re.compile(r"called to order|\bbegan at\b|\bopened at\b", re.I), "start started begin began open opened"),
    (re.compile(r"\brose at\b|\badjourned\b|\bclosed at\b", re.I), "end ended finish finished close closed rise"),
    (re.compile(r"^Distr\.|^Issued:|^\d{1,2} [A-Z][a-z]+ \d{4}$"), "issued issue published distributed"),
    (re.compile(r"^Original:", re.I), "language original originally written"),
    (re.compile(r"\bsession$", re.I), "session"),
    (re.compile(r"^Summary record|^Symbol:", re.I), "title symbol record"),
    (re.compile(r"^No summary records? (?:was|were)", re.I), "record prepared issued closed private"),
]
AGENDA_WORDS = "agenda items item topics contents discussed"


HEADER_VOCABULARY = " ".join([*(w for _, w in HEADER_LEXICON), AGENDA_WORDS])


@cache
def state_aliases() -> dict[str, str]:
    """Every name of a State, folded -> the State's short name ('united states of america' -> 'United States')."""
    aliases: dict[str, str] = {}
    for line in (DATA / "states.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            names = [n.strip() for n in line.split("|")]
            for name in names:
                aliases[fold(name)] = names[0]
    for line in (DATA / "demonyms.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            demonym, state = (part.strip() for part in line.split("|"))
            aliases[fold(demonym)] = state
    return aliases


@cache
def state_pattern() -> re.Pattern:
    names = sorted({name for name in state_aliases() if " " in name or len(name) > 3}, key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(re.escape(n) for n in names) + r")\b")


@lru_cache(maxsize=8192)
def states_in(text: str) -> list[str]:
    """The States a text names, by name, other name or demonym, in order."""
    folded = fold(text)
    found = [state_aliases()[m.group()] for m in state_pattern().finditer(folded)]
    for word in words(text):
        if word[:1].isupper():
            state = demonym_state(word)
            if state:
                found.append(state)
    return list(dict.fromkeys(found))


@lru_cache(maxsize=4096)
def state_represented(affiliation: str | None) -> str | None:
    """The State a speaker speaks for: 'Mexico', 'Government of Mexico', 'Permanent Mission of Mexico'; not an
    organization whose name mentions one ('Association of Moroccan victims of arbitrary expulsion from Algeria')."""
    folded = " ".join(without_possessive(w) for w in fold(affiliation or "").split())  # "Tunisia's representative"
    named = [state_aliases()[m.group()] for m in state_pattern().finditer(folded)]
    rest = [w for w in words(state_pattern().sub(" ", folded)) if w not in DELEGATION_WORDS]
    named += [state for state in map(demonym_state, rest) if state]
    return named[0] if len(set(named)) == 1 and all(demonym_state(w) for w in rest) else None


@lru_cache(maxsize=65536)
def demonym_state(word: str) -> str | None:
    """'Mexican' -> 'Mexico', 'Azerbaijani' -> 'Azerbaijan', 'Tunisian' -> 'Tunisia': a listed name or demonym, or a
    word made of the start of one word of a State's name (at least four letters, all but that word's last three) and
    a demonym ending. 'Centre' is no 'Central African', 'Anti-racist' no 'Antiguan', 'Policy' no 'Polish'."""
    folded = fold(word)
    if folded in state_aliases():
        return state_aliases()[folded]
    if folded in state_name_words():
        return None  # 'Central', 'African': a word of a longer State name ('Central African Republic') names none alone
    best, found = 0, None
    for part, state in state_name_words().items():
        common = len(os.path.commonprefix([folded, part]))
        if common > best and common >= 4 and common >= len(part) - 3 and DEMONYM_ENDING.fullmatch(folded[common:]):
            best, found = common, state  # the longest start wins: 'Nigerian' is Nigeria's, not Niger's
    return found


@cache
def state_name_words() -> dict[str, str]:
    """Each word of the States' own names (not demonyms, not words many names share), folded -> the State."""
    found: dict[str, str] = {}
    for line in (DATA / "states.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            state = line.split("|")[0].strip()
            for name in line.split("|"):
                parts = fold(name.strip()).split()
                for part in parts:
                    if len(part) >= 4 and part not in STATE_NAME_WORDS and (len(parts) == 1 or part not in found):
                        found[part] = state  # a one-word name keeps its word: 'sudan' is Sudan's, not South Sudan's
    return found


@lru_cache(maxsize=1 << 16)
def skeleton(name: str) -> str:
    """A spelling-tolerant key: 'Flynn' and 'Flin' -> 'fln' (first letter, then consonants, doubles once)."""
    folded = fold(name).replace("y", "i")
    rest = re.sub(r"[aeiouh\W\d_]", "", folded[1:])
    return folded[:1] + re.sub(r"(.)\1+", r"\1", rest)


def close_spelling(a: str, b: str) -> bool:
    a, b = fold(a), fold(b)
    return a == b or (min(len(a), len(b)) >= 4 and skeleton(a) == skeleton(b))


@dataclass(frozen=True)
class Speaker:
    """One speaker of one record, with the words a question may use to name them."""

    doc_id: str
    name: str  # as printed: "Mr. Flynn", "The Chair"
    affiliation: str | None
    person: str | None  # the Chair's own name, from the record's header
    keys: frozenset[str]  # folded name words, distinctive affiliation words and acronyms

    @cached_property
    def surnames(self) -> list[str]:
        names = [self.name, self.person or ""]
        return [w for n in names for w in words(n) if fold(w) not in TITLE_WORDS | NAME_PARTICLES and len(w) > 1]


@dataclass
class Knowledge:
    passages: list[Passage]
    stem_df: Counter
    vocabulary: set[str]  # folded words
    acronyms: dict[str, str]  # 'IOM' -> 'International Organization for Migration'
    speakers: list[Speaker]
    meetings: dict[int, str]  # meeting number -> doc_id
    sessions: dict[str, list[str]]  # 'thirty-ninth' -> doc_ids of that session
    symbols: dict[str, str]  # folded symbol or id -> doc_id
    chairs: dict[str, str]  # doc_id -> 'Ms. Diallo'
    names: dict[str, str]  # doc_id -> what a citation names
    text: str  # all passage text, folded: for exact references such as 'No. 7'
    corpus_states: set[str] = field(default_factory=set)
    document_texts: dict[str, str] = field(default_factory=dict)  # doc_id -> its passages' text, folded
    known: dict[str, bool] = field(default_factory=dict)  # word -> whether the corpus has a form of it (a cache)
    voiced: set[str] = field(default_factory=set)  # documents whose passages have speakers (summary records)
    record_dates: dict[str, str] = field(default_factory=dict)  # a summary record's doc_id -> its meeting's ISO date
    instruments: dict[tuple[str, int], list[str]] = field(default_factory=dict)  # ('comment', 5) -> doc_ids whose
    # title is that general comment or recommendation ('Joint general comment No. 3 (2017) ... and No. 22 (2017)')

    @classmethod
    def collect(cls, passages: list[Passage]) -> Knowledge:
        stem_df: Counter = Counter()
        vocabulary: set[str] = set()
        acronyms: dict[str, str] = {}
        meetings: dict[int, str] = {}
        sessions: dict[str, list[str]] = {}
        symbols: dict[str, str] = {}
        chairs: dict[str, str] = {}
        names: dict[str, str] = {}
        for p in passages:
            lexicon = HEADER_VOCABULARY if p.kind == "header" else None  # what header lines answer to
            context = " ".join(
                filter(None, [p.text, p.speaker, p.affiliation, p.section, p.title, p.document, lexicon])
            )
            vocabulary.update(fold(w) for w in words(context))
            stem_df.update(set(stems(context)))
            for phrase in re.findall(
                r"[A-Z][\w\-]*(?:[ ]+(?:(?:of|for|on|the|and|in|against|to)[ ]+){0,2}[A-Z][\w\-]*)+", context
            ):
                short = acronym(phrase)
                if len(short) >= 2:
                    acronyms.setdefault(short, phrase)
            names[p.doc_id] = p.document
            symbols[fold(p.document)] = p.doc_id
            symbols[fold(p.doc_id)] = p.doc_id
            meeting = re.search(r"SR\.(\d+)", p.document)
            if meeting:
                meetings[int(meeting.group(1))] = p.doc_id
                symbols[fold(f"SR.{meeting.group(1)}")] = p.doc_id
            if p.session:
                key = fold(p.session.split()[0])
                if p.doc_id not in sessions.setdefault(key, []):
                    sessions[key].append(p.doc_id)
            if p.kind == "header":
                chair = re.search(r"^Chair(?:person)?: (.+)$", p.text, re.M)
                if chair:
                    chairs[p.doc_id] = chair.group(1).strip()
        knowledge = cls(
            passages,
            stem_df,
            vocabulary,
            acronyms,
            collect_speakers(passages, chairs),
            meetings,
            sessions,
            symbols,
            chairs,
            names,
            fold(" ".join(p.text for p in passages)),
        )
        knowledge.corpus_states = set(states_in(" ".join(p.text for p in passages)))
        knowledge.voiced = {p.doc_id for p in passages if p.speaker}
        knowledge.record_dates = {p.doc_id: p.date for p in passages if p.doc_id in knowledge.voiced and p.date}
        for doc_id, title in {p.doc_id: p.title for p in passages}.items():
            for key in instruments_titled(title or ""):
                knowledge.instruments.setdefault(key, []).append(doc_id)
        for p in passages:  # in corpus order
            knowledge.document_texts[p.doc_id] = knowledge.document_texts.get(p.doc_id, "") + "\n" + fold(p.text)
        return knowledge

    def idf(self, word_stem: str) -> float:
        return math.log((len(self.passages) + 1) / (self.stem_df.get(word_stem, 0) + 0.5))

    def weighted_stems(self, text: str) -> dict[str, float]:
        return {s: self.idf(s) for s in set(stems(text))}

    def unknown_share(self, text: str) -> float:
        """IDF share of a text's words the corpus never uses, by any form: 'Mexican' is known (Mexico)."""
        weighted = {}
        for word in words(text):
            word_stem = stem(word)
            if fold(word) in STOPWORDS:
                continue
            known = word_stem in self.stem_df or self.knows(word) or self.knows_state_of(word)
            weighted[word_stem] = (self.idf(word_stem), known)
        total = sum(w for w, _ in weighted.values())
        return sum(w for w, known in weighted.values() if not known) / total if total else 0.0

    def knows_state_of(self, word: str) -> bool:
        """'Mexican' is known when the corpus names Mexico; a State it never names ('Libya') is as unknown as any
        other word it never uses."""
        state = demonym_state(word)
        return state is not None and all(self.knows(w) for w in words(state) if fold(w) not in STOPWORDS)

    def knows(self, word: str) -> bool:
        """Whether the corpus has a word, or a form of it ('German' in 'Germany'), or it is an acronym there."""
        known = self.known.get(word)
        if known is None:
            known = self.known[word] = self.has_form_of(word)
        return known

    def has_form_of(self, word: str) -> bool:
        folded = fold(word)
        if folded in self.vocabulary or word in self.acronyms or stem(word) in self.stem_df:
            return True
        return len(folded) >= 5 and any(v.startswith(folded[: max(5, len(folded) - 3)]) for v in self.vocabulary)

    def holds_instrument(self, kind: str, number: int, body: str | None) -> list[str]:
        """The documents that are general comment (or recommendation) No. n, of the body named if one is ('CED',
        'CMW'): the body is read from the document's symbol."""
        docs = self.instruments.get((kind, number), [])
        if body:
            docs = [d for d in docs if fold(body) in re.split(r"[-/.]", fold(self.names.get(d, d)) + "-" + fold(d))]
        return docs

    def mentioning(self, phrase: str, like: list[str] | None = None) -> list[str]:
        """Documents whose text mentions a phrase ('thirty-fifth session'), in corpus order; with `like`, only those
        of the same body as these documents: the CMW's nineteenth session is not the one a CAT comment mentions."""
        folded = fold(phrase)
        bodies = {body_of(d) for d in like or []}
        return [
            doc_id
            for doc_id, text in self.document_texts.items()
            if folded in text and (not bodies or body_of(doc_id) in bodies)
        ]

    def is_joint(self, doc_id: str) -> bool:
        """Whether a document is a joint general comment: its title names two ('No. 3 ... and No. 22')."""
        return sum(doc_id in docs for docs in self.instruments.values()) >= 2

    def is_common(self, word: str) -> bool:
        """A word in more than COMMON_SHARE of the passages ('Convention', 'Committee') is the corpus's topic, not
        a name an answer must mention."""
        return self.stem_df.get(stem(word), 0) > COMMON_SHARE * len(self.passages)

    def speakers_named(self, question: str) -> list[Speaker]:
        """Speakers a question names: by surname (spelling-tolerant), affiliation words, an acronym, or the State
        they speak for by its name or demonym ('the Mexican delegate')."""
        tokens = [without_possessive(w) for w in words(question) if fold(w) not in TITLE_WORDS]
        capitalised = [w for w in tokens if w[:1].isupper()]
        folded = {fold(w) for w in tokens} | {fold(s) for s in states_in(question)}
        found = []
        for speaker in self.speakers:
            by_name = any(close_spelling(w, s) for w in capitalised for s in speaker.surnames)
            by_key = bool(speaker.keys & folded)
            if by_name or by_key:
                found.append(speaker)
        return found

    def chair_of(self, passage: Passage) -> str | None:
        return self.chairs.get(passage.doc_id) if is_chair(passage.speaker) else None


def is_chair(speaker: str | None) -> bool:
    return bool(speaker) and fold(speaker).removeprefix("the ").startswith("chair")


def collect_speakers(passages: list[Passage], chairs: dict[str, str]) -> list[Speaker]:
    found: dict[tuple, Speaker] = {}
    for p in passages:
        if not p.speaker or (p.doc_id, p.speaker, p.affiliation) in found:
            continue
        person = chairs.get(p.doc_id) if is_chair(p.speaker) else None
        keys = {fold(w) for w in words(" ".join(filter(None, [p.speaker, person, p.affiliation])))}
        keys -= GENERIC_SPEAKER_WORDS | TITLE_WORDS | NAME_PARTICLES
        keys = {k for k in keys if len(k) > 2}
        if p.affiliation:
            keys.add(fold(acronym(p.affiliation)))
            keys.update(fold(a) for a in re.findall(r"\b([A-Z]{2,})\b", p.affiliation))
            keys.update(fold(s) for s in states_in(p.affiliation))
        found[(p.doc_id, p.speaker, p.affiliation)] = Speaker(
            p.doc_id, p.speaker, p.affiliation, person, frozenset(keys)
        )
    return list(found.values())


def body_of(doc_id: str) -> str:
    """The body a document's id or symbol begins with: 'CMW-C-SR.590' -> 'cmw', 'CAT-C-GC-4' -> 'cat'."""
    return fold(re.split(r"[-/.]", doc_id)[0])


def instruments_titled(title: str) -> list[tuple[str, int]]:
    """The general comments or recommendations a document's title says it is: 'General comment No. 5 (2021) on ...'
    -> [('comment', 5)]; a joint one is two: 'Joint general comment No. 3 (2017) of ... and No. 22 (2017) of ...'."""
    match = re.match(r"\W*(?:joint |draft )?general (comment|recommendation)s? ", title, re.I)
    if not match:
        return []
    return [(fold(match.group(1)), int(n)) for n in re.findall(r"\bNo\.\s?(\d+)", title)]


def session_key(token: str) -> str | None:
    """'39th' or 'thirty-ninth' -> 'thirty-ninth'."""
    token = fold(token)
    number = re.fullmatch(r"(\d+)(?:st|nd|rd|th)", token)
    if number:
        return ordinal_word(int(number.group(1)))
    last = token.split("-")[-1]
    return token if last in {ordinal_word(n) for n in range(1, 20)} or last.endswith("ieth") else None
