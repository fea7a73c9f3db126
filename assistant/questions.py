"""Reading a question: what it asks for, which records and speakers it names, and what the corpus cannot know.

Everything here is lexical and explainable: the facts about the corpus (its words, meetings, sessions,
chairs, speakers) are collected once from the passages, and a question is checked against them.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import Stemmer

from assistant.passages import MONTHS, Passage, human_date

WORD = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ][\w’'\-]*|\d+(?:[.,/]\d+)*(?:st|nd|rd|th)?")


def word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


def word_list(text: str) -> list[str]:
    return text.split()


STOPWORDS = word_set(
    """a about above after again against all also am an and any are as at be been before being below between both
    but by can could did do does doing down during each few for from further had has have having he her here
    hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now of
    off on once only or other our ours out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were what when where
    which while who whom why will with would you your yours according say said says tell told mention mentioned
    anything something someone thing things many much did whose ever"""
) | word_set(  # words that ask for sources rather than name content: 'Which speakers spoke about ...?'
    """speaker speakers spoke speak speaks speaking participant participants record records discuss discussed
    discusses talk talked"""
)
GENERIC_SUBJECT = word_set(
    """the a an of for from at in on to and representative representatives delegation delegations delegate
    government speaker speakers spokesperson member members person people country state s mr ms mrs dr"""
)
NAME_PARTICLES = word_set("""de del la da van von der el al bin ben""")
ORDINALS = word_list(
    """first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth fourteenth
    fifteenth sixteenth seventeenth eighteenth nineteenth"""
)
TENS = {2: "twent", 3: "thirt", 4: "fort", 5: "fift", 6: "sixt", 7: "sevent", 8: "eight", 9: "ninet"}

# '506th meeting', 'the 232nd and 506th meetings', 'the 232nd and at the 506th meetings'; not '25th annual meeting'
MEETING_REF = re.compile(
    r"\b(\d{1,4})(?:st|nd|rd|th)\b(?=(?:\s*(?:,|and|or|to|at|the|\d{1,4}(?:st|nd|rd|th))\s*)*\s*meetings?\b)", re.I
)
SESSION_REF = re.compile(r"\b((?:[a-z]+-)?[a-z]+|\d{1,3}(?:st|nd|rd|th))\s+sessions?\b", re.I)
NUMBER_REF = re.compile(r"\bNo\.\s?(\d+(?:/\d+)?)", re.I)
YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
MONTH_YEAR = re.compile(rf"\b({'|'.join(MONTHS)})\s+(\d{{4}})\b")
SUBJECT_PATTERNS = [
    re.compile(
        r"\bwhat did (?P<who>.+?) (?:say|tell|state|argue|recommend|suggest|propose|ask|want|stress|emphasi[sz]e"
        r"|note|mention|blame|describe|think|report|explain|request|urge|call for|highlight|respond|reply|answer"
        r"|announce|express|complain|criticize|criticise|promise|pledge|claim|insist|warn|welcome|regret|raise"
        r"|present|outline|contribute)\b",
        re.I,
    ),
    re.compile(
        r"\bwho (?:spoke|speaks|was speaking) (?:for|on behalf of) (?P<who>.+?)(?: at | in | during |\?|$)", re.I
    ),
    re.compile(r"\b(?P<who>(?:the )?delegation of [A-Z]\w+)\b"),
    re.compile(r"\baccording to (?P<who>[^,?]+)", re.I),
    re.compile(r"\bhow did (?P<who>.+?) (?:respond|reply|answer|react)\b", re.I),
    re.compile(
        r"\bwhat (?:was|were|is) (?P<who>[A-Z][\w\-]+(?: [A-Z][\w\-]+)*)['’]s (?:position|views?|statement|response|stance)"
    ),
    re.compile(r"\b(?P<who>[A-Z][\w\-]+(?: [A-Z][\w\-]+)*)['’]s (?:representative|delegation|delegate)\b"),
]
# The records say which concluding observations and lists of issues were adopted, for which State, but not what
# they say (those are separate documents): 'What did the Committee recommend to Peru in its concluding observations?'
OUTCOME_CONTENT = re.compile(
    r"\b(?i:recommend\w*|ask\w*|urge\w*|request\w*|tell|told|put|pose[ds]?|raised?)\s+(?:to\s+)?(?!The\b)[A-Z][a-z]+\b.*"
    r"\b(?i:concluding observations|lists? of issues)\b"
    r"|\b(?i:concluding observations|lists? of issues)\s+(?i:on|for|to|regarding|about)\s+(?!The\b|the\b)[A-Z][a-z]+"
)
GOVERNMENT = re.compile(r"\b(government|delegation|delegate|ministry|minister|ambassador)s?\b", re.I)
PRONOUNS = word_set("""he she they it him her them his its their this that these those""")
ANAPHORA = re.compile(
    r"\b(he|she|they|him|her|them|his|its|their|it|that|this|those|these|there|same|then|former|latter)\b", re.I
)
DOCUMENT_ANAPHORA = re.compile(
    r"\b(that|this|the same) (meeting|session|record|document|discussion|note)\b|\bit\b|\bthere\b|^\W*(when|where) "
    r"was (that|this)\b",
    re.I,
)

# Metadata a record's header answers, and how to recognise a question asking for it.
FIELD_CUES: list[tuple[str, re.Pattern]] = [
    ("session", re.compile(r"\b(which|what) session\b", re.I)),
    ("chair", re.compile(r"\bwho (chaired|chairs|presided|was (the )?chair\w*|was in the chair)\b", re.I)),
    ("issued", re.compile(r"\bissued\b", re.I)),
    ("agenda", re.compile(r"\bagenda\b|\bwhat items\b", re.I)),
    ("title", re.compile(r"\b(full )?title\b", re.I)),
    ("start", re.compile(r"\b(start|started|begin|began|open|opened|called to order|convened?)\b", re.I)),
    ("end", re.compile(r"\b(finish|finished|end|ended|close|closed|rise|rose|adjourn\w*)\b", re.I)),
    ("symbol", re.compile(r"\bsymbol\b", re.I)),
    ("language", re.compile(r"\b(original|which|what) language\b|\blanguage\b.*\boriginal", re.I)),
    (
        "date",
        re.compile(
            r"\b(what|which) (?:was |is )?(?:the )?(date|day|weekday)\b|\bdate of\b|^\W*when (was|is) (that|this|it)\b"
            r"|\bwhen was .* held\b",
            re.I,
        ),
    ),
    ("date", re.compile(r"\bwhen did .* (take place|meet|held)\b", re.I)),
    ("place", re.compile(r"\bwhere\b|\bwhich (?:\w+ )?(building|city|place|venue|room)\b", re.I)),
    (
        "unrecorded",
        re.compile(
            r"\bno summary records?\b|\bwithout (?:a )?summary records?\b|\bis there (?:a )?summary record", re.I
        ),
    ),
]
# What an answer must hold, by the question's wording: a classic answer-type cue.
ANSWER_TYPES = [
    ("share", re.compile(r"\bwhat (proportion|share|percentage|fraction)\b", re.I)),
    (
        "money",
        re.compile(
            r"\bhow much\b.*\b(cost|costs|spend|spent|budget|fund\w*|money|pay|paid|price|worth)\b"
            r"|\bwhat (?:was|is|were|are) (?:the )?(?:\w+['’]s )?(?:annual |regular )?(?:budget|cost|funding)s?\b",
            re.I,
        ),
    ),
    (
        "vote",
        re.compile(r"\bwhat was the vote\b|\bhow did \w+(?: \w+)? vote\b|\bvote (?:count|result|tally)\b", re.I),
    ),
    ("number", re.compile(r"\bhow (many|much|long|old|large)\b|\bwhat (proportion|share|percentage|number)\b", re.I)),
    (
        "date",
        re.compile(
            r"(?:^\W*|[,;]\s*|\band\s+|\bsince\s+)when\s+(?:did|does|do|was|were|is|are|will|would|should|can|could|had"
            r"|has|have)\b|\b(what|which) (date|year|day|month)\b|\b(?:what|which)\b[^?]{0,30}\bdates\b",
            re.I,
        ),
    ),
    ("state", re.compile(r"\b(which|what) (states?|countries|country|governments?|nations)\b", re.I)),
    (
        "person",
        re.compile(r"^\W*(who|whom|whose)\b|\bwhich (speakers?|participants?|members?|academic|person)\b", re.I),
    ),
]


# 'Which countries did Mr. Carrión Mena want OHCHR to focus on?' asks what he said, not a fact about him
ASKS_WHAT_WAS_SAID = re.compile(
    r"\b(?:say|said|spoke|speak|want|wanted|mention|mentioned|recommend|recommended|suggest|suggested|name|named|cite|cited|urge"
    r"|urged|call|called|propose|proposed|single|singled|list|listed|praise|praised|criticize|criticise|criticized"
    r"|criticised|refer|referred|highlight|highlighted)\b",
    re.I,
)
# 'Which member served as rapporteur?', 'Who was elected Chair?': the answer names a person, not a speaker's words
NAMED_PERSON = re.compile(
    r"\bwhich (?:\w+ )?(?:member|expert|person|official)s?\b|\bwho (?:served|was appointed|was elected|won|succeeded"
    r"|replaced|took over|will (?:chair|replace|succeed))\b",
    re.I,
)


def state_names() -> list[str]:
    """The United Nations Member and observer States, by every name in data/states.txt."""
    lines = (Path(__file__).with_name("data") / "states.txt").read_text(encoding="utf-8").splitlines()
    return [name.strip() for line in lines if line.strip() and not line.startswith("#") for name in line.split("|")]


STATE = re.compile(r"\b(?:" + "|".join(re.escape(n) for n in sorted(state_names(), key=len, reverse=True)) + r")\b")
NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|thousand|million"
)
TYPE_EVIDENCE = {
    "share": re.compile(
        r"\bper ?cent\b|%|\b(?:one|two|three) in (?:two|three|four|five|ten)\b"
        r"|\b(?:a|one|two|three)[ -](?:half|thirds?|quarters?|fifths?)\b|\bhalf (?:of|the)\b|\bmajority\b",
        re.I,
    ),
    "money": re.compile(
        r"[$€£]\s?\d|\b(?:USD|CHF|EUR)\s?\d|\d[\d,.]*\s?(?:million |billion )?(?:USD|CHF|EUR|dollars|francs|euros)\b",
        re.I,
    ),
    "number": re.compile(rf"\d|\b({NUMBER_WORDS})\b(?!-)", re.I),
    "date": re.compile(rf"\b({'|'.join(MONTHS)}|1[89]\d\d|20\d\d)\b|\b\d{{1,2}}(?:[.:]\d{{2}})?\s?[ap]\.m\."),
    "vote": re.compile(  # a result: 'adopted without a vote', '152 in favour', 'by consensus', '12 abstentions'
        r"\bwithout a vote\b|\bby consensus\b|\bby a (?:recorded )?vote of\b|\b\d+ (?:votes? )?(?:in favour|to|against)\b"
        r"|\b\d+ abstentions?\b",
        re.I,
    ),
    "state": STATE,
    "person": re.compile(r"\b(Mr|Ms|Mrs|Dr)\.? [A-ZÀ-Ý]"),
}
# '(at) the 506th meeting', '(at) its thirty-ninth session', 'CMW/C/SR.590': filters, not words to match
ORDINAL = (
    r"(?:\d{1,4}(?:st|nd|rd|th)|(?:[a-z]+-)?(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth"
    r"|eleventh|twelfth|\w+teenth|\w+ieth))"
)
RECORD_REFERENCE = re.compile(
    rf"\b(?:(?:at|of|in|during|from)\s+)?(?:the\s+|its\s+)?{ORDINAL}(?:\s*(?:,|and|or)\s+(?:at\s+)?(?:the\s+)?{ORDINAL})*"
    r"\s+(?:meetings?|sessions?)\b|\b(?:CMW/C/)?SR\.\d+\b|\b(?:the\s+)?concept note\b",
    re.I,
)
TIME_CUE = re.compile(r"\b(what time|when|at what time)\b", re.I)
RECORD_WORDS = re.compile(r"\b(meetings?|sessions?|records?|concept note|discussion)\b", re.I)
MANY_CUE = re.compile(
    r"\b(which|what|who)\s+(speakers|participants|ngos|organizations|organisations|records|states|countries|"
    r"delegations|members|institutions)\b|\bdifferent speakers\b|\bspeakers\b|\bwho (?:brought up|referred|spoke)\b"
    r"|\btrace\b|\bthemes\b|\bwhat (?:was|were) (?:said|raised|discussed)\b|\bwhat (?:concerns|issues|points|problems"
    r"|proposals)\b|\b(?:different|various) ways\b|\bin what ways\b|\bacross\b|\b(?:came|come|comes) up\b"
    r"|\bhow does .+ feature\b",
    re.I,
)


@lru_cache(maxsize=1)
def stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def fold(text: str) -> str:
    """Lower case without accents, so 'Türk' and 'Turk', 'Méndez' and 'Mendez' meet."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def without_possessive(word: str) -> str:
    """'Committee's' -> 'Committee'."""
    return re.sub(r"['’]s$", "", word)


def words(text: str) -> list[str]:
    return [w.strip("’'-") for w in WORD.findall(text) if w.strip("’'-")]


IZE_WORD = re.compile(r"^(\w{3,}?)i[sz](?:ation|ations|e|es|ed|ing)$")


def stems(text: str) -> list[str]:
    """Content-word stems: 'regularization', 'regularize' and 'regularized' all give 'regulariz'. Snowball alone
    would give 'regular', as in 'Safe, Orderly and Regular Migration', so -ize words keep their own stem."""
    tokens = [without_possessive(fold(w)) for w in words(text)]
    tokens = [t for t in tokens if t not in STOPWORDS]
    snowball = stemmer().stemWords(tokens)
    return [m.group(1) + "iz" if (m := IZE_WORD.match(t)) else s for t, s in zip(tokens, snowball, strict=True)]


def ordinal_word(n: int) -> str:
    """45 -> 'forty-fifth', 30 -> 'thirtieth' (sessions are printed as words)."""
    if n < 20:
        return ORDINALS[n - 1] if n > 0 else str(n)
    tens, unit = divmod(n, 10)
    if tens not in TENS:
        return str(n)
    return f"{TENS[tens]}ieth" if unit == 0 else f"{TENS[tens]}y-{ORDINALS[unit - 1]}"


def acronym(phrase: str) -> str:
    """'International Organization for Migration' -> 'IOM'; small words are skipped as the UN does."""
    return "".join(w[0] for w in phrase.split() if w[:1].isupper() and w.lower() not in NAME_PARTICLES)


@dataclass
class Speaker:
    """One speaker of one record, with the words a question may use to name them."""

    doc_id: str
    name: str  # as printed: "Mr. Flynn", "The Chair"
    affiliation: str | None
    person: str | None  # the Chair's own name, from the record's header
    keys: set[str] = field(default_factory=set)  # folded name words, affiliation words and acronyms


@dataclass
class CorpusFacts:
    """What a question is checked against, collected once from the passages."""

    vocabulary: set[str]
    stem_df: Counter
    passage_count: int
    text: str  # all passage text, folded: for exact references such as 'No. 7'
    acronyms: dict[str, str]
    meetings: dict[int, str]  # meeting number -> doc_id
    sessions: dict[str, str]  # 'thirty-ninth' -> doc_id
    months: dict[str, list[str]]  # '2024-12' -> doc_ids
    chairs: dict[str, str]  # doc_id -> 'Ms. Diallo'
    dates: dict[str, str]  # doc_id -> ISO date
    titles: dict[str, str]  # doc_id -> title
    names: dict[str, str]  # doc_id -> what a citation names: 'CMW/C/SR.506'
    speakers: list[Speaker]
    latest: str  # latest record date
    session_mentions: dict[str, list[str]] = field(default_factory=dict)  # 'thirty-fifth' -> documents naming it
    unrecorded: dict[str, list[str]] = field(default_factory=dict)  # doc_id -> its header's closed-part lines

    @classmethod
    def collect(cls, passages: list[Passage]) -> CorpusFacts:
        vocabulary: set[str] = set()
        stem_df: Counter = Counter()
        acronyms: dict[str, str] = {}
        meetings, sessions, months, chairs, dates, titles, names = {}, {}, {}, {}, {}, {}, {}
        session_mentions: dict[str, list[str]] = {}
        unrecorded: dict[str, list[str]] = {}
        for p in passages:
            all_text = " ".join(filter(None, [p.text, p.speaker, p.affiliation, p.title, p.section]))
            vocabulary.update(fold(w) for w in words(all_text))
            stem_df.update(set(stems(all_text)))
            for phrase in re.findall(
                r"[A-Z][\w\-]*(?:[ ]+(?:(?:of|for|on|the|and|in|against|to)[ ]+){0,2}[A-Z][\w\-]*)+", all_text
            ):
                short = acronym(phrase)
                if len(short) >= 2:
                    acronyms.setdefault(short, phrase)
            dates[p.doc_id] = p.date or ""
            titles[p.doc_id] = p.title
            names[p.doc_id] = p.document
            meeting = re.search(r"SR\.(\d+)", p.document)
            if meeting:
                meetings[int(meeting.group(1))] = p.doc_id
            if p.session:
                sessions[fold(p.session.split()[0])] = p.doc_id
            for match in SESSION_REF.finditer(p.text):
                word = session_word(match.group(1))
                if word and p.doc_id not in session_mentions.setdefault(word, []):
                    session_mentions[word].append(p.doc_id)
            if p.date and len(p.date) >= 7:
                months.setdefault(p.date[:7], [])
                if p.doc_id not in months[p.date[:7]]:
                    months[p.date[:7]].append(p.doc_id)
            if p.kind == "header":
                chair = re.search(r"^Chair(?:person)?: (.+)$", p.text, re.M)
                if chair:
                    chairs[p.doc_id] = chair.group(1).strip()
                closed = re.findall(r"^No summary record was prepared for .*\b(?:closed|private)\b.*$", p.text, re.M)
                unrecorded[p.doc_id] = closed
        speakers = collect_speakers(passages, chairs)
        latest = max((d for d in dates.values() if d), default="")
        return cls(
            vocabulary,
            stem_df,
            len(passages),
            fold(" ".join(p.text for p in passages)),
            acronyms,
            meetings,
            sessions,
            months,
            chairs,
            dates,
            titles,
            names,
            speakers,
            latest,
            session_mentions,
            unrecorded,
        )

    def idf(self, stem: str) -> float:
        return math.log((self.passage_count + 1) / (self.stem_df.get(stem, 0) + 0.5))

    def knows_word(self, word: str) -> bool:
        """A name is known when the corpus has it, a form of it ('German' in 'Germany', 'Azerbaijani' from
        'Azerbaijan': all but the last three letters, at least six) or it is an acronym there."""
        folded = fold(word)
        if folded in self.vocabulary or word in self.acronyms:
            return True
        if len(folded) >= 4 and any(v.startswith(folded) for v in self.vocabulary):
            return True
        if len(folded) >= 9 and any(v.startswith(folded[:-3]) for v in self.vocabulary):
            return True
        return stemmer().stemWord(folded) in self.stem_df

    def is_distinctive(self, word: str) -> bool:
        """Rare enough to identify a speaker: 'Deputy', 'Tunis'; not 'international' or 'migration'."""
        return self.stem_df.get(stemmer().stemWord(fold(word)), 0) <= max(3, 0.05 * self.passage_count)

    def chair_of(self, passage: Passage) -> str | None:
        return self.chairs.get(passage.doc_id) if is_chair(passage.speaker) else None


def context_text(passage: Passage, facts: CorpusFacts) -> str:
    """A passage's words plus who spoke and where: 'What did the IOM say' matches by the speaker line."""
    chair = facts.chair_of(passage)
    return " ".join(filter(None, [passage.text, passage.speaker, chair, passage.affiliation, passage.section]))


def is_chair(speaker: str | None) -> bool:
    return bool(speaker) and fold(speaker).removeprefix("the ").startswith("chair")


def collect_speakers(passages: list[Passage], chairs: dict[str, str]) -> list[Speaker]:
    found: dict[tuple, Speaker] = {}
    for p in passages:
        if not p.speaker:
            continue
        key = (p.doc_id, p.speaker, p.affiliation)
        if key in found:
            continue
        person = chairs.get(p.doc_id) if is_chair(p.speaker) else None
        keys = {fold(w) for w in words(" ".join(filter(None, [p.speaker, p.affiliation, person])))}
        keys -= GENERIC_SUBJECT | STOPWORDS
        if p.affiliation:
            keys.add(fold(acronym(p.affiliation)))
            keys.update(fold(a) for a in re.findall(r"\b([A-Z]{2,})\b", p.affiliation))
        found[key] = Speaker(p.doc_id, p.speaker, p.affiliation, person, keys)
    return list(found.values())


# ---- what a question asks ----


@dataclass
class Intent:
    """What a question asks for and what it names, read without a language model."""

    text: str
    asks: str | None = None  # metadata asked of a record's header: chair, date, start, end, session, place, ...
    fields: list[str] = field(default_factory=list)  # every header field asked, 'asks' first: ['end', 'issued']
    documents: list[str] = field(default_factory=list)  # doc_ids the question names (meeting, session, month)
    speakers: list[Speaker] = field(default_factory=list)  # speakers the question names
    wants_many: bool = False  # "Which speakers ...": several sources wanted
    unanswerable: list[str] = field(default_factory=list)  # why the corpus cannot answer, when it plainly cannot
    expansions: list[str] = field(default_factory=list)  # acronyms spelled out: 'US' -> 'United States'
    answer_type: str | None = None  # number | date | state | person: what the answer must hold
    content: str = ""  # the question without the records it names: those become a filter, not words to match
    constraints: list[Constraint] = field(default_factory=list)  # names, sessions, years an answer must mention
    counted: str | None = None  # what a 'How many ...?' question counts: 'submissions'

    @property
    def parts(self) -> list[str]:
        """What the question asks, part by part ('Which participants ..., and which States ...?' has two)."""
        return [p for p in PART_BREAK.split(self.text) if len(p.split()) >= 2]


def read_question(text: str, facts: CorpusFacts) -> Intent:
    intent = Intent(text=text)
    intent.expansions = [facts.acronyms[w] for w in words(text) if w.isupper() and len(w) >= 2 and w in facts.acronyms]
    intent.documents, missing = named_documents(text, facts)
    reasons = missing + unknown_names(text, facts) + unknown_references(text, facts)
    intent.fields = asked_fields(text, bool(intent.documents))
    intent.asks = intent.fields[0] if intent.fields else None
    intent.speakers = named_speakers(text, facts)
    intent.wants_many = bool(MANY_CUE.search(text))
    intent.answer_type = next((name for name, cue in ANSWER_TYPES if cue.search(text)), None)
    intent.content = " ".join(RECORD_REFERENCE.sub(" ", text).split()) or text
    intent.constraints = named_constraints(text, intent.content, facts)
    intent.counted = counted_noun(text)
    scope = intent.documents or None
    for who in subjects(text):
        matching = speakers_matching(who, facts, scope)
        if GOVERNMENT.search(who):  # 'the Government of Tunisia's representative' is not a University of Tunis academic
            matching = [s for s in matching if STATE.search(" ".join(filter(None, [s.name, s.affiliation])))]
        silent = is_person_or_state(who) or (is_named_body(who) and not reported_speaking(who, facts))
        if not matching and silent:
            where = " in " + ", ".join(documents_named(scope, facts)) if scope else ""
            reasons.append(f"{who.strip()} is not recorded as speaking{where}")
    if CLOSED_PART.search(text) and "unrecorded" not in intent.fields:  # 'Is there a record of ...?' is answered
        reasons += [
            f"{facts.names[d]} says: {line.rstrip('.')}"
            for d in intent.documents
            for line in facts.unrecorded.get(d, [])
        ]
    intent.unanswerable = list(dict.fromkeys(reasons))
    return intent


# 'the closed part of the 232nd meeting', for which the header says that no summary record was prepared
CLOSED_PART = re.compile(r"\b(?:closed|private)\b", re.I)


YEAR_RANGE = re.compile(
    r"\b(?:from|between|since)\s+(?:1[89]|20)\d\d\b|\b(?:1[89]|20)\d\d\s*(?:-|–|to|and)\s*(?:1[89]|20)\d\d\b"
)
GENERIC_SHARE = 0.08
NUMBERED_TOPIC = 3  # a numbered instrument mentioned this often is a topic, which records may name without its number  # a name in more passages than this ('Committee', 'Convention') is the corpus's topic, not a claim


@dataclass(frozen=True)
class Constraint:
    """Something a question names that an answering passage must mention too: 'Greece', 'the thirtieth session',
    '2018'. Topical closeness is not enough: 'Who won the election for Chair at the thirtieth session?' is close to
    passages about the Chair and about sessions, but none mentions the thirtieth session's election."""

    text: str  # as the question wrote it
    alternatives: tuple[tuple[str, ...], ...]  # folded word groups: a passage mentioning every word of one, mentions it
    pattern: str | None = None  # or a regular expression over the passage's text: a number such as 'No. 5' or '23/20'


def named_constraints(text: str, content: str, facts: CorpusFacts) -> list[Constraint]:
    """The rare names of the question (not the records it names: those filter the search), the sessions no record
    covers, and its years. Acronyms may be met spelt out: 'CERD' by 'Elimination of Racial Discrimination'."""
    found: list[Constraint] = []
    tokens = words(content)
    for i, token in enumerate(tokens):
        token = without_possessive(token)
        if i == 0 or not token[:1].isupper() or fold(token) in STOPWORDS or token in MONTHS:
            continue
        for part in filter(None, token.split("-")):
            alternatives = name_alternatives(part, facts)
            if part[:1].isupper() and alternatives:
                found.append(Constraint(part, alternatives))
    for match in SESSION_REF.finditer(text):
        word = session_word(match.group(1))
        if word and word not in facts.sessions:  # a held record's session is a filter already
            found.append(Constraint(f"{word} session", ((word,),)))
    if not YEAR_RANGE.search(text):  # 'from 2013 to 2025' spans the records; one year must be mentioned
        found += [Constraint(year, ((year,),)) for year in YEAR.findall(text)]
    # numbered instruments: 'general comment No. 5' is not No. 6; 'resolution 23/20'. Not a topic of the corpus:
    # the 506th meeting discusses general comment No. 6 without its number. Patterns match folded text.
    numbered = [(f"No. {n}", rf"\bnos?\.\s?(?:\d+\s*(?:,|and)\s*)*{re.escape(n)}\b") for n in NUMBER_REF.findall(text)]
    numbered += [(n, rf"(?<![\d/]){re.escape(n)}(?![\d/])") for n in re.findall(r"(?<!No\. )\b\d+/\d+\b", text)]
    for name, pattern in numbered:
        if len(re.findall(pattern, facts.text)) < NUMBERED_TOPIC:
            found.append(Constraint(name, (), pattern))
    return list(dict.fromkeys(found))


def is_generic(word: str, facts: CorpusFacts) -> bool:
    return facts.stem_df.get(stemmer().stemWord(fold(word)), 0) > GENERIC_SHARE * facts.passage_count


def name_alternatives(word: str, facts: CorpusFacts) -> tuple[tuple[str, ...], ...]:
    """How a passage may mention a name: as written, or an acronym spelt out. Nothing for a generic name: 'UN' is
    'United Nations', which every record says; nor for an abbreviation the corpus never uses ('GC6')."""
    spelt = facts.acronyms.get(word) if word.isupper() else None
    if not spelt:
        unchecked = is_generic(word, facts) or (is_abbreviation(word) and not facts.knows_word(word))
        return () if unchecked else ((fold(word),),)
    rare = tuple(fold(w) for w in words(spelt) if fold(w) not in STOPWORDS and not is_generic(w, facts))
    return ((fold(word),), rare) if rare else ()


PLURAL = re.compile(r"^(?:\w+[^su]s|people|children|men|women|staff|personnel)$")  # 'States', not 'status'


def counted_noun(text: str) -> str | None:
    """What a 'How many ...?' question counts, folded: its first plural noun ('How many written submissions did the
    Committee receive?' -> 'submissions'), if it comes within a few words."""
    match = re.search(r"\bhow many\s+(.+)", text, re.I)
    tokens = words(match.group(1))[:4] if match else []
    return next((fold(t) for t in tokens if PLURAL.match(fold(t))), None)


def named_documents(text: str, facts: CorpusFacts) -> tuple[list[str], list[str]]:
    """Records a question names by meeting number, session or month; and references to records not held."""
    found: list[str] = []
    missing: list[str] = []
    for number in map(int, MEETING_REF.findall(text)):
        if number in facts.meetings:
            found.append(facts.meetings[number])
        else:
            held = ", ".join(f"{n}" for n in sorted(facts.meetings))
            missing.append(f"no record of meeting {number} is in the corpus (meetings held: {held})")
    for number in map(int, re.findall(r"\bSR\.(\d+)\b", text)):
        if number in facts.meetings:
            found.append(facts.meetings[number])
    for match in SESSION_REF.finditer(text):
        word = session_word(match.group(1))
        if word and word in facts.sessions:  # the session's record, and the documents about that session
            found += [facts.sessions[word], *facts.session_mentions.get(word, [])]
    for month, year in MONTH_YEAR.findall(text):
        found += facts.months.get(f"{year}-{MONTHS.index(month) + 1:02d}", [])
    if re.search(r"\bconcept note\b", text, re.I):
        found += [doc for doc, title in facts.titles.items() if "concept note" in title.lower()]
    return list(dict.fromkeys(found)), missing


def session_word(token: str) -> str | None:
    token = fold(token)
    number = re.match(r"(\d+)(st|nd|rd|th)$", token)
    if number:
        return ordinal_word(int(number.group(1)))
    last = token.split("-")[-1]
    return token if last in ORDINALS or last.endswith("ieth") else None


def unknown_names(text: str, facts: CorpusFacts) -> list[str]:
    """Names (capitalised words) that the corpus never mentions: 'Brazil', 'Olympic'. Not an abbreviation ('NGO',
    'GC6'): users shorten what the records spell out."""
    tokens = [without_possessive(w) for w in words(text)]
    unknown = []
    for i, word in enumerate(tokens):
        if i == 0 or not word[:1].isupper() or fold(word) in STOPWORDS or is_abbreviation(word):
            continue
        if word.isdigit() or all(facts.knows_word(part) for part in word.split("-") if part):
            continue
        unknown.append(word)
    return [f"the records never mention {w}" for w in dict.fromkeys(unknown)]


def is_abbreviation(word: str) -> bool:
    return len(word) >= 2 and word.upper() == word and any(c.isalpha() for c in word)


def unknown_references(text: str, facts: CorpusFacts) -> list[str]:
    """Sessions, numbered instruments and years that no record covers: 'forty-fifth session', 'No. 7', '2030'."""
    missing = []
    for match in SESSION_REF.finditer(text):
        word = session_word(match.group(1))
        if word and word not in facts.text:
            missing.append(f"no record mentions a {word} session")
    for number in NUMBER_REF.findall(text):
        if not re.search(rf"\bno\.\s?{re.escape(number)}\b", facts.text):
            missing.append(f"no record mentions No. {number}")
    if OUTCOME_CONTENT.search(text):
        missing.append("the records note which concluding observations were adopted, not what they recommend")
    latest_year = int(facts.latest[:4]) if facts.latest else 9999
    for year in map(int, YEAR.findall(text)):
        if year > latest_year:
            missing.append(f"the records end in {human_date(facts.latest)}, before {year}")
    for month, year in MONTH_YEAR.findall(text):  # 'in December 2025', when the last record is of April 2025
        if f"{year}-{MONTHS.index(month) + 1:02d}" > facts.latest[:7] and int(year) == latest_year:
            missing.append(f"the records end in {human_date(facts.latest)}, before {month} {year}")
    return missing


def asked_fields(text: str, names_record: bool) -> list[str]:
    """The header fields a question asks for, part by part: 'When did the 608th meeting end, and when was its
    summary record issued?' -> ['end', 'issued']."""
    parts = [p for p in PART_BREAK.split(text) if len(p.split()) >= 2]
    fields = [asked_field(part, names_record or bool(MEETING_REF.search(text))) for part in parts]
    found = list(dict.fromkeys(f for f in fields if f))
    whole = asked_field(text, names_record)
    return found if len(found) > 1 else [whole] if whole else []


def asked_field(text: str, names_record: bool) -> str | None:
    """The header field a question asks for, only when it is about a record ('Who chaired the 590th meeting?')."""
    if not (names_record or RECORD_WORDS.search(text)):
        return None
    for name, cue in FIELD_CUES:
        if not cue.search(text):
            continue
        if name in ("start", "end") and not (TIME_CUE.search(text) and RECORD_WORDS.search(text)):
            continue
        if name in ("date", "place", "session") and not names_record:
            continue
        return None if len(other_content(text, cue)) > MAX_OTHER_CONTENT else name
    return None


MAX_OTHER_CONTENT = 1  # more content words than this, and the question asks about what was said, not the header
RECORD_VOCABULARY = (
    word_set(
        """meeting meetings session sessions record records summary document committee committee's part public private
    held take place time day date year month chair chaired chairperson presided symbol title full language original
    agenda items item building city venue room issued called order start started begin began open opened close closed
    end ended finish finished rise rose adjourn adjourned convened convene starts itself discussion covered which what
    when where who
    general comment half half-day written originally weekday prepared"""  # 'the half-day of general discussion on general comment No. 6' is a meeting
    )
    | {m.lower() for m in MONTHS}
)


def other_content(text: str, cue: re.Pattern) -> list[str]:
    """The question's words besides the record it names and the header field it asks for: 'When he opened the
    half-day discussion, on which topics did the Chair say ...' asks about topics, not about the opening time."""
    rest = cue.sub(" ", RECORD_REFERENCE.sub(" ", text))
    tokens = [without_possessive(fold(w)) for w in words(rest)]
    return [t for t in tokens if t not in STOPWORDS | RECORD_VOCABULARY and not t[:1].isdigit() and len(t) > 2]


def subjects(text: str) -> list[str]:
    """Who a question says spoke: 'What did Brazil say ...' -> ['Brazil']."""
    found = []
    for pattern in SUBJECT_PATTERNS:
        for match in pattern.finditer(text):
            who = re.sub(r"\s+(?:at|in|during|of) the \d+\w* meetings?.*$", "", match.group("who"))
            if fold(who).split()[-1:] and fold(who).split()[-1] in PRONOUNS:
                continue
            found.append(who)
    return found


def subject_words(who: str) -> set[str]:
    tokens = {without_possessive(fold(w)) for w in words(who)}
    return {t for t in tokens if t not in GENERIC_SUBJECT and t not in STOPWORDS and not t[:1].isdigit()}


def speakers_matching(who: str, facts: CorpusFacts, scope: list[str] | None) -> list[Speaker]:
    wanted = subject_words(who)
    if not wanted:
        return []
    matches = []
    for speaker in facts.speakers:
        if scope and speaker.doc_id not in scope:
            continue
        if all(any(key.startswith(w[:6]) or w.startswith(key) for key in speaker.keys if len(key) > 1) for w in wanted):
            matches.append(speaker)
    return matches


def is_person_or_state(who: str) -> bool:
    """Only people, States and their delegations are checked as speakers; 'the Committee' is the record itself."""
    tokens = words(who)
    lowered = {fold(t) for t in tokens}
    if lowered & {"committee", "convention", "compact", "comment", "note", "record", "pact", "declaration"}:
        return False
    if lowered & {"mr", "ms", "mrs", "dr", "representative", "delegation", "delegate", "government", "speaker"}:
        return True
    proper = [t for t in tokens if t[:1].isupper() and fold(t) not in STOPWORDS]
    return len(proper) == 1 and len(tokens) <= 2 or any(t.isupper() and len(t) > 1 for t in tokens)


RECORD_ITSELF = word_set("""committee committees convention compact comment note record records pact declaration meeting
    session chair chairperson""")
REPORTING_VERB = (
    r"(?:said|says|stated|noted|stressed|recalled|explained|recommended|suggested|proposed|called|urged|drew|drawn"
    r"|expressed|highlighted|emphasi[sz]ed|pointed|indicated|reported|informed|replied|responded|welcomed|announced"
    r"|told|asked|argued|observed|added|underlined|warned|concluded)"
)


def is_named_body(who: str) -> bool:
    """An organization or office named with capitals ('Amnesty International', 'the Special Rapporteur on ...'),
    other than the Committee and the records themselves."""
    tokens = words(who)
    if {fold(t) for t in tokens} & RECORD_ITSELF:
        return False
    return any(t[:1].isupper() and fold(t) not in STOPWORDS | GENERIC_SUBJECT for t in tokens)


def reported_speaking(who: str, facts: CorpusFacts) -> bool:
    """Whether a record reports a body that is not a speaker as saying something: its name (up to six words:
    'International Labour Office', 'Special Rapporteur on contemporary forms of racism') followed within a dozen words by a reporting verb ('The Office, in turn,
    had drawn attention ...'); 'organized by Amnesty International and the OHCHR office' is no statement."""
    name = " ".join(words(re.sub(r"^\W*the\s+", "", who, flags=re.I))[:6])
    if not name:
        return False
    head = r"\W+".join(re.escape(fold(w)) for w in name.split())
    return bool(re.search(rf"\b{head}\b(?:\W+\w+){{0,12}}?\W+{REPORTING_VERB}\b", facts.text))


SPEAKER_MATCH_MARGIN = 0.1


def named_speakers(text: str, facts: CorpusFacts) -> list[Speaker]:
    """Speakers a question names by surname, affiliation or acronym ('IOM', 'Mr. Flynn', 'Mexico')."""
    folded = {without_possessive(fold(w)) for w in words(text)}
    folded |= {fold(w) for w in words(" ".join(facts.acronyms.get(w, "") for w in words(text) if w.isupper()))}
    found: list[tuple[float, Speaker]] = []
    for speaker in facts.speakers:
        name_words = subject_words(speaker.person or speaker.name) - {"chair", "chairperson"}
        affiliation_words = subject_words(speaker.affiliation or "")
        acronyms = {fold(acronym(speaker.affiliation or ""))} | {
            fold(a) for a in re.findall(r"\b([A-Z]{2,})\b", speaker.affiliation or "")
        }
        by_name = bool(name_words) and name_words <= folded
        shared = affiliation_words & folded
        share = len(shared) / len(affiliation_words) if affiliation_words else 0.0
        # 'Human Rights' alone names no one; most of a long name does ('National Human Rights Council of Morocco')
        by_affiliation = share >= 0.6 and (share >= 0.8 or any(facts.is_distinctive(w) for w in shared))
        by_acronym = bool(acronyms & folded - {""}) and any(len(a) > 2 for a in acronyms & folded)
        if by_name or by_acronym:
            found.append((1.0, speaker))
        elif by_affiliation:
            found.append((share, speaker))
    # 'Morocco's National Human Rights Council' names the CNDH (5 of 6 words), not the Moroccan Human Rights
    # Association (3 of 5): of partial matches, only the closest count
    best = max((strength for strength, _ in found), default=0.0)
    return [speaker for strength, speaker in found if strength >= best - SPEAKER_MATCH_MARGIN]


# ---- follow-up questions ----


@dataclass
class FollowUp:
    question: str  # what is searched: the question with the earlier turn's topic carried over
    documents: list[str]  # the record an anaphor such as 'that meeting' or 'it' points to
    strict: bool  # True when the question points at the record itself, so the search is limited to it


def documents_named(doc_ids: list[str] | None, facts: CorpusFacts) -> list[str]:
    names = {v: f"meeting {k}" for k, v in facts.meetings.items()}
    return [names.get(d, d) for d in doc_ids or []]


def is_follow_up(question: str) -> bool:
    """'And what did Mexico say?', 'When was that?', 'Which country was the latest to join?': pointing back,
    or naming nothing of its own (no name, number or record after the first word)."""
    named = [w for w in words(question)[1:] if w[:1].isupper() or w[:1].isdigit()]
    return (
        bool(ANAPHORA.search(question))
        or bool(re.match(r"\s*(and|also|what about|how about|then)\b", question, re.I))
        or not named
    )


def topic_terms(question: str) -> list[str]:
    """Content words of an earlier turn that carry its topic: names, key nouns; not question words."""
    drop = STOPWORDS | {"say", "said", "happened", "happen", "talk", "spoke", "chaired", "chair", "held"}
    return [w for w in words(question) if fold(w) not in drop and not (w.isdigit() and len(w) < 3)]


def has_answer_type(sentence: str, answer_type: str | None) -> bool:
    return bool(answer_type) and bool(TYPE_EVIDENCE[answer_type].search(sentence))


PART_BREAK = re.compile(
    r",?\s+and\s+(?=(?:what|which|who|whom|when|where|why|how|in what|did|does|do|is|are|was|were)\b)|;\s+", re.I
)


def focus_parts(question: str, intent: Intent) -> list[str]:
    """What a sentence must answer: the question's own words without the records it names (a filter already),
    and its parts when it asks several things ('Who spoke for Burkina Faso, and which objective did he stress?')."""
    focus = " ".join((RECORD_REFERENCE.sub(" ", question) if intent.documents else question).split()) or question
    parts = [p.strip(" ,;?") for p in PART_BREAK.split(focus)]
    parts = [p for p in parts if len(p.split()) >= 2]
    return [focus, *parts] if len(parts) > 1 else [focus]
