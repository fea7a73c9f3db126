"""Read a question: its parts, and for each part its focus and answer type; the constraints it names.

Pure parsing, no verdicts: what the question names is looked up in the corpus (knowledge.py) so that the later
stages can weigh it, but nothing here decides whether the records answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.answering.knowledge import CHAIR_NAMES, Knowledge, Speaker, session_key, states_in
from assistant.text import MONTHS, STOPWORDS, fold, without_possessive, words

# One word between 'which' and the noun asked about ('which other documents'), never an auxiliary: 'What does general
# comment No. 1 propose?' asks what it says, not which document
MODIFIER = r"(?:(?!(?:do|does|did|is|are|was|were|has|have|had|can|could|should|would|will|may|must|might)\b)\w+ )?"
STATE_NOUNS = r"states?|countries|country|governments?|nations?"  # the names a question gives States
MONEY_NOUNS = r"(?:wages?|salar(?:y|ies)|pay|earnings|fines?|fees?|sums?|amounts?|budgets?|costs?|funding|money|prices?|payments?)"
# Nouns whose value is a number: 'What was the vote?', 'What is the average age ...?'
NUMBER_NOUNS = r"(?:number|age|figures?|average|median|total|rate|margin|tally|votes?|length|duration)"
COPULA = r"(?: (?:is|was|are|were))?"  # 'What is the minimum age' asks what 'What minimum age' does
# Where the noun a 'what ...' question asks about ends: a function word or the question's end ('What fee does ...',
# not 'What funding mechanism ...')
HEAD_END = r"(?= (?:of|for|in|per|to|that|do|does|did|is|are|was|were|has|have|had|can|could|should|would|will|may|must)\b|\s*[?,])"
UNIT = r",\s*in (days|weeks|months|years|hours|minutes)\b"  # the unit a length is asked in: 'How long, in days, ...?'
STATE_WORDS = STATE_NOUNS.replace("?", "").replace("|", " ")  # the same, as words: 'states countries country ...'
# What kind of thing the answer is, from the question's grammar. Order matters: the first cue that matches wins.
ANSWER_TYPES: list[tuple[str, re.Pattern]] = [
    ("share", re.compile(r"\bwhat (?:proportion|share|percentage|fraction|per ?cent)\b|\bhow many per ?cent\b", re.I)),
    (
        "amount",
        re.compile(
            rf"\bhow much\b.*\b(?:spend|spent|fund\w*|pay|paid|worth|{MONEY_NOUNS})\b"
            r"|\bwhat (?:was|is|were|are) (?:the )?(?:\w+['’]s )?(?:annual |regular )?(?:budget|cost|funding)s?\b"
            # 'What minimum monthly wage does ...', 'How big a fine ...': a sum of money is the noun asked about
            rf"|\b(?:what|which|how big|how large){COPULA}(?: an?| the)? {MODIFIER}{MODIFIER}{MONEY_NOUNS}{HEAD_END}"
            r"|,\s*in (?:US |Swiss )?(?:dollars|euros|francs)\b",  # 'How large, in dollars, ...?'
            re.I,
        ),
    ),
    (
        "number",
        re.compile(
            rf"\bhow (?:many|much|long|old|often|large)\b|\b(?:what|which|by what){COPULA}(?: the)? {MODIFIER}{MODIFIER}{NUMBER_NOUNS}\b(?!-)"
            r"|\bhow big\b"
            rf"|\bthe (?:\w+ )?number of\b|{UNIT}",  # a length in a unit
            re.I,
        ),
    ),
    (
        "time",
        re.compile(
            # the verb ends the clause: 'When did the meeting open?', not 'When did it hold its open discussion day?'
            r"\bwhat time\b|\bat what hour\b|\bwhen (?:did|was|were) (?:the )?(?:\w+ ){0,8}(?:start|begin|open|end|close|rise|finish"
            r"|adjourn|called to order)(?:ed)?\b\s*(?:[?,;]|$)",
            re.I,
        ),
    ),
    (
        "date",
        re.compile(
            rf"(?:^\W*|[,;]\s*|\band\s+|\bsince\s+)when\b|\b(?:what|which|on what) {MODIFIER}(?:date|year|day|month|dates)\b"
            r"|\b(?:what|which)\b[^?]{0,30}\bdates\b"
            r"|\bhow recent\b",
            re.I,
        ),
    ),
    ("article", re.compile(r"\b(?:which|what|under which) (?:articles?|provisions?)\b", re.I)),
    (
        "document",
        re.compile(
            rf"\b(?:which|what) {MODIFIER}(?:general comments?|general recommendations?|documents?|records?|reports?"
            r"|resolutions?|instruments?|treaty|treaties|texts?|comment|recommendation|symbol)\b"
            # where something is explained or defined is a text that does so: 'Where is the definition set out?'
            r"|\bwhere (?:do|does|did|is|are|was|were|has|have|had)\b[^?,;]*?\b(?:explain|defin|set out|describ"
            r"|lay down|laid down)",
            re.I,
        ),
    ),
    (
        "state",
        re.compile(rf"\b(?:which|what) {MODIFIER}(?:{STATE_NOUNS})\b", re.I),
    ),
    (
        "place",
        re.compile(
            rf"^\W*where\b|[,;]\s*where\b|\band where\b|\b(?:which|what|in which) {MODIFIER}(?:city|building|venue|place|room|town|location)\b",
            re.I,
        ),
    ),
    (
        "person",
        re.compile(
            rf"^\W*(?:who|whom|whose)\b|[,;]\s*(?:and\s+)?who\b|\band who\b|\bwhat (?:is|was|are|were) the names? of\b"
            rf"|\b(?:which|what) {MODIFIER}(?:speakers?|participants?|members?"
            r"|experts?|persons?|person|officials?|delegates?|representatives?|chair\w*|rapporteurs?|organi[sz]ations?"
            r"|bodies|body|ngos?|agenc(?:y|ies))\b",
            re.I,
        ),
    ),
    (
        "reason",
        re.compile(
            r"^\W*why\b|[,;]\s*(?:and\s+)?why\b|\band why\b|\b(?:for what|what (?:is|was|are|were) the) reasons?\b"
            r"|\bon what grounds\b|\bwhat (?:led|prompted|caused|motivated)\b",
            re.I,
        ),
    ),
]
TYPE_CUES = dict(ANSWER_TYPES)
COUNT_CUE = re.compile(r"\b(?:how many|number of)\b", re.I)
DATE_UNIT = re.compile(r"\b(?:(dates?|days?)|(months?)|(years?))\b", re.I)  # the unit a date question's slot names
UNIT_CUE = re.compile(UNIT, re.I)
PERCENTAGE = re.compile(r"\bper ?cent(?:age)?\b", re.I)
LIST_CUE = re.compile(
    r"\b(?:list|name (?:the|all|some)|what (?:are|were) (?:the|some)|which (?:\w+ )?\w+s\b|what (?:\w+ )?(?:concerns|issues"
    r"|points|problems|proposals|measures|steps|obligations|rights|factors|causes|risks|themes|elements|grounds"
    r"|examples|safeguards|guarantees|recommendations|principles|forms|ways|areas|topics|challenges|groups)\b"
    r"|\bin what ways\b|\bacross\b|\bdifferent\b|\bvarious\b)",
    re.I,
)
# Where one question asks several things: 'Who chaired it, and where was it held?', 'When? Where?', 'Can I send it
# in French, and will it be translated?'
PART_BREAK = re.compile(
    r"\?\s+(?=\S)|;\s+|,?\s+(?:and|also|as well as)\s+(?=(?:(?:in|on|at|of|from|by|for|under|to|with|about|during|after|before|since|until) (?:what|which)"
    r"|what|which|who|whom|when|where|why|how|did|does|do|is|are|was|were)\b)"
    # a modal or 'have' opens a second question only after a comma: 'was detained and has been released' is one
    r"|,\s+and\s+(?=(?:will|would|can|could|should|must|may|has|have|had)\b)",
    re.I,
)
# A clause that sets the scene of a question, up to the comma after which the question itself opens
SCENE = re.compile(
    r"^(?:when|whenever|where|if|once|while|after|before|since)\b[^,?]*,\s*(?=(?:what|which|who|whom|whose|when|where"
    r"|why|how|did|does|do|is|are|was|were|can|could|should|would|will|must|may|has|have|had)\b)",
    re.I,
)
QUESTION_WORDS = frozenset(
    """what which who whom whose when where why how did does do is are was were can could should would will
    tell explain describe list name give show find please""".split()
)
TITLE_NAME = re.compile(r"\b(?:Mr|Ms|Mrs|Mme|Dr|Prof)\.?\s+((?:[A-ZÀ-Ý][\w'’\-]+\s?){1,3})")
MEETING_REF = re.compile(r"\b(\d{1,4})(?:st|nd|rd|th)\s+(?:and\s+\d{1,4}(?:st|nd|rd|th)\s+)?meetings?\b", re.I)
# 'the summary record of the 506th meeting', and 'its summary record' beside it, name the record the question names:
# the noun goes with the reference, not into the focus
RECORD_OF_MEETING = re.compile(r"(?:\b(?:summary |official )?records? of (?:the |its )?)?" + MEETING_REF.pattern, re.I)
THE_RECORD = re.compile(r"\b(?:its|the|that|this) (?:summary |official )?record\b", re.I)
ORDINAL = r"(?:[a-z]+-)?[a-z]*(?:st|nd|rd|th)|\d{1,3}(?:st|nd|rd|th)"  # every English ordinal ends so
SERIES_BREAK = re.compile(r",\s*(?:and\s+)?|\s+and\s+", re.I)  # 'thirty-eighth, thirty-ninth and fortieth'
MONTH_NAME = "|".join(MONTHS)
WHEN = rf"(?:\d{{1,2}} )?(?:{MONTH_NAME}) (?:19|20)\d\d"  # to the month at least: 'a meeting in 2022' may be any
DATES = rf"(?:{WHEN})(?:(?:{SERIES_BREAK.pattern})(?:the )?(?:{WHEN}))*"
MEETING_NOUN = r"(?:meetings?|sessions?|discussions?|sittings?|debates?)"
# A meeting named by its date: 'the meeting on 27 September 2022', 'its meetings in December 2024 and April 2025',
# 'the April 2025 meeting', 'the September 2022 Geneva discussion' (up to two words between, none a function word)
DATED_MEETING = re.compile(
    rf"\b{MEETING_NOUN} (?:held )?(?:on|of|in) ({DATES})\b"
    rf"|\b({DATES})(?: (?!(?:the|a|an|its|their|and|of|in|on|at)\b)[\w-]+){{0,2}} {MEETING_NOUN}\b"
)
SESSION_REF = re.compile(rf"\b((?:{ORDINAL})(?:(?:{SERIES_BREAK.pattern})(?:{ORDINAL}))*)\s+sessions?\b", re.I)
SYMBOL_REF = re.compile(r"\b(?:[A-Z]{2,6}/)+(?:[A-Z]{1,3}/)*(?:SR|GC)[./]\d+\b|\bSR\.\d+\b")
# 'CMW general comment No. 7', 'the joint general comments No. 38/7', 'general recommendation No. 26'
INSTRUMENT_REF = re.compile(
    r"\b(?:(?P<body>(?-i:[A-Z]{2,6}))(?:['’]s)? (?:(?-i:[a-z]+) )?)?general (?P<kind>comment|recommendation)s? "
    r"(?:No\.|Nos\.|number) ?(?P<number>\d+)(?P<pair>\s?/\s?(?:No\. ?)?\d+|,? and (?:No\. ?)?\d+)?",
    re.I,
)
NUMBERED_REF = re.compile(r"\b(?:No\.|number)\s?(\d+)|\b(\d{1,3}/\d{1,4})\b", re.I)
YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
# Who a question says spoke: 'What did the delegation of Jamaica say ...', 'according to the IOM', 'How did X respond'
SUBJECT = re.compile(
    r"\bwhat did (?P<a>.+?) (?:say|tell|state|argue|recommend|suggest|propose|ask|stress|emphasi[sz]e|note|mention"
    r"|describe|report|explain|request|urge|call for|highlight|respond|reply|announce|express|warn|raise|present)\b"
    r"|\baccording to (?P<b>[^,?]+)|\bhow did (?P<c>.+?) (?:respond|reply|answer|react)\b"
    r"|\b(?P<d>(?-i:[A-Z][\w\-]+(?: [A-Z][\w\-]+)*))['’]s (?:position|view|statement|response|stance)\b",
    re.I,
)
RECORD_ITSELF = frozenset(
    """committee committees convention compact comment note record records document recommendation meeting
    session members member he she they it its their him her""".split()
    + list(CHAIR_NAMES)
)
FOLLOW_UP = re.compile(
    r"^\W*(?:and|also|what about|how about|then|so|but)\b|\b(?:he|she|they|him|her|them|his|its|their|it|that|this"
    r"|those|these|there|same|former|latter)\b",
    re.I,
)


@dataclass
class Part:
    """One thing a question asks."""

    text: str
    focus: str  # what is asked about: the part's content words, without the records it names
    # person | state | date | time | number | share | amount | document | article | place | reason | text
    answer_type: str
    wants_list: bool = False
    scored_text: str = ""  # what sentences are compared with: the part without the records it names
    slot: str = ""  # the words that name the kind of answer ('which building', 'what time'): the answer fills them
    counted: str = ""  # for a count, what it counts: the words after 'how many' / 'number of' ('adult migrants')
    grain: str = ""  # for a date, the unit asked for: 'day' ('On what date'), 'month', 'year'; '' for any ('When');
    # for a share, 'figure' when a percentage is asked for

    def __post_init__(self) -> None:
        self.scored_text = self.scored_text or self.text


@dataclass
class Reading:
    """A question read: its parts and what it names."""

    question: str
    parts: list[Part]
    documents: list[str] = field(default_factory=list)  # doc_ids the question names (meeting, session, symbol)
    instruments: list[str] = field(default_factory=list)  # held general comments and recommendations it names
    unheld: list[str] = field(default_factory=list)  # records it names that the corpus does not hold
    speakers: list[Speaker] = field(default_factory=list)  # speakers it names, found in the corpus
    persons: list[str] = field(default_factory=list)  # people it names by title: 'Mr. Flin' -> 'Flin'
    states: list[str] = field(default_factory=list)  # States it names, by name or demonym
    names: list[str] = field(default_factory=list)  # other proper names it uses ('Olympic', 'Agadir', 'IOM')
    years: list[str] = field(default_factory=list)
    numbered: list[str] = field(default_factory=list)  # numbered instruments: 'No. 5', '73/195'
    expansions: list[str] = field(default_factory=list)  # acronyms spelt out ('IOM' -> 'International ...'), and
    # the States that demonyms name ('Mexican' -> 'Mexico')
    subject: str | None = None  # who the question says spoke ('the delegation of Jamaica'), unless the record itself

    @property
    def wants_list(self) -> bool:
        return any(p.wants_list for p in self.parts)

    def constraints_of(self, part: int) -> list[tuple[str, str]]:
        """What one part names: in a question of several parts, only what that part's own words name ('Who chaired
        it, and how many delegates from Brazil attended?': Brazil is the second part's)."""
        if len(self.parts) == 1:
            return self.constraints
        words_of_part = fold(self.parts[part].text)
        return [(k, v) for k, v in self.constraints if fold(v) in words_of_part]

    @property
    def constraints(self) -> list[tuple[str, str]]:
        """(kind, value) of everything an answering passage should mention."""
        return [
            *(("person", p) for p in self.persons),
            *(("state", s) for s in self.states),
            *(("name", n) for n in self.names),
            *(("year", y) for y in self.years),
            *(("numbered", n) for n in self.numbered),
        ]


def read(question: str, knowledge: Knowledge) -> Reading:
    documents, unheld = named_records(question, knowledge)
    content = strip_records(question) if documents or unheld else question
    reading = Reading(question=question, parts=split_parts(question, strip=bool(documents or unheld)))
    reading.documents, reading.unheld = documents, unheld
    reading.instruments = held_instruments(question, knowledge)
    reading.speakers = knowledge.speakers_named(question)
    reading.persons = [without_possessive(m.group(1).split()[-1]) for m in TITLE_NAME.finditer(question)]
    reading.states = list(states_in(question))
    reading.years = list(dict.fromkeys(YEAR.findall(question)))
    reading.numbered = [a or b for a, b in NUMBERED_REF.findall(question)]
    reading.names = [n for n in proper_names(content, reading) if not knowledge.is_common(n)]
    reading.subject = speaking_subject(question)
    reading.expansions = [
        knowledge.acronyms[w] for w in words(question) if w.isupper() and len(w) >= 2 and w in knowledge.acronyms
    ] + [s for s in reading.states if fold(s) not in fold(question)]  # 'Mexican' searches for Mexico too
    return reading


def split_parts(question: str, strip: bool = False) -> list[Part]:
    """The parts of a question, each with its answer type and focus (without the records it names, when `strip`:
    those are a filter); one part for a simple question."""
    pieces = coordinated([p.strip(" ,;?") for p in PART_BREAK.split(question)])
    pieces = [p for p in pieces if len(content_words(p)) >= 1 and len(p.split()) >= 2]
    if len(pieces) <= 1:
        pieces = [question.strip()]
    whole_type = answer_type(main_clause(question))
    parts = []
    for piece in pieces:
        asked_in = main_clause(piece)  # the words whose cue gave the type
        kind = answer_type(asked_in)
        if kind == "text" and len(pieces) == 1:
            kind, asked_in = whole_type, main_clause(question)
        scored = strip_records(piece) if strip else piece
        slot = answer_slot(asked_in, kind)
        counted = counted_words(asked_in) if kind == "number" else ""
        grain = grain_of(slot, kind)
        parts.append(Part(piece, focus_of(scored), kind, bool(LIST_CUE.search(piece)), scored, slot, counted, grain))
    return parts


def coordinated(pieces: list[str]) -> list[str]:
    """'When and where was it held?' asks two questions of one clause: a question word standing alone takes the next
    piece's clause as its own ('When was it held', 'where was it held')."""
    out = []
    for piece, following in zip(pieces, [*pieces[1:], ""], strict=True):
        head, _, clause = following.partition(" ")
        if fold(piece) in QUESTION_WORDS and fold(head) in QUESTION_WORDS and clause:
            piece = f"{piece} {clause}"
        out.append(piece)
    return out


def main_clause(text: str) -> str:
    """A question after the clause that sets its scene: 'When a child crosses a border, should officials ...?' asks
    no date, 'If I am detained, how long ...?' a length."""
    scene = SCENE.match(text)
    return text[scene.end() :] if scene else text


# A question word's contracted verb, as lay questions write it: "What's the name ..." asks what the name is
QUESTION_CONTRACTION = re.compile(r"\b(what|who|where|when|which|how)['’]s\b", re.I)


def uncontracted_question(text: str) -> str:
    return QUESTION_CONTRACTION.sub(r"\1 is", text)


def answer_type(text: str) -> str:
    text = uncontracted_question(text)
    return next((name for name, cue in ANSWER_TYPES if cue.search(text)), "text")


def counted_words(text: str) -> str:
    """What a count counts: the unit a length is asked in ('..., in days'), or the words after 'how many' or 'number
    of', up to the next stopword or verb ('how many adult migrants are' -> 'adult migrants', 'how many of the world's
    migrants' -> 'world's migrants'); a State by any of its names, since '93 States' answers 'how many countries'."""
    unit = UNIT_CUE.search(text)
    if unit:
        return unit.group(1)
    cue = COUNT_CUE.search(text)
    after = words(text[cue.end() :]) if cue else []
    skipped = STOPWORDS | QUESTION_WORDS
    counted: list[str] = []
    for word in after:
        if fold(word) in skipped:
            if counted:
                break
            continue
        if counted and fold(word).endswith("ed"):  # the verb: 'how many migrants disappeared' counts migrants
            break
        counted.append(word)
    phrase = " ".join(counted[:2])
    if re.search(rf"\b(?:{STATE_NOUNS})\b", phrase, re.I):
        phrase += " " + STATE_WORDS
    return phrase


def grain_of(slot: str, kind: str) -> str:
    """How precise an answer must be. A date: 'On what date ...?' wants a day ('13 December 2024'), which a month or a
    year does not give; 'In what year ...?' a year; 'When ...?' any. A share: 'What percentage ...?' wants a figure
    ('10 to 15 per cent'), where 'What share ...?' takes 'the majority' too."""
    if kind == "share":
        return "figure" if PERCENTAGE.search(slot) else ""
    found = DATE_UNIT.search(slot) if kind == "date" else None
    return "" if not found else "day" if found.group(1) else "month" if found.group(2) else "year"


def answer_slot(text: str, kind: str) -> str:
    """The words of the cue that made a part's answer type ('In which Geneva building' -> 'which Geneva building')."""
    cue = TYPE_CUES.get(kind)
    match = cue.search(uncontracted_question(text)) if cue else None
    return match.group() if match else ""


def content_words(text: str) -> list[str]:
    return [w for w in words(text) if fold(w) not in STOPWORDS | QUESTION_WORDS]


def focus_of(text: str) -> str:
    """What a part asks about: its content words ('Who chaired the meeting?' -> 'chaired meeting')."""
    return " ".join(content_words(text)) or text


def strip_records(question: str) -> str:
    """The question without the records it names: those become a filter, not words to match."""
    text = THE_RECORD.sub(" ", RECORD_OF_MEETING.sub(" ", question))
    text = SYMBOL_REF.sub(" ", text)
    text = SESSION_REF.sub(lambda m: " " if session_keys(m.group(1)) else m.group(), text)
    return " ".join(text.split()) or question


def named_records(question: str, knowledge: Knowledge) -> tuple[list[str], list[str]]:
    """Records a question names by meeting number, session or symbol; and those (general comments too) the corpus
    does not hold."""
    found: list[str] = []
    unheld: list[str] = []
    for match in MEETING_REF.finditer(question):
        for number in map(int, re.findall(r"\d+", match.group())):
            doc = knowledge.meetings.get(number)
            found.append(doc) if doc else unheld.append(f"meeting {number}")
    for key in (key for match in SESSION_REF.finditer(question) for key in session_keys(match.group(1))):
        records = knowledge.sessions.get(key, [])
        mentioning = knowledge.mentioning(f"{key} session", like=records)  # the documents about it
        found += records + mentioning
        if not found and not mentioning:
            unheld.append(f"{key} session")
    for match in DATED_MEETING.finditer(question):
        for when in re.findall(WHEN, match.group(1) or match.group(2)):
            found += records_dated(when, knowledge)
    for match in SYMBOL_REF.finditer(question):
        doc = knowledge.symbols.get(fold(match.group()))
        found.append(doc) if doc else unheld.append(match.group())
    return list(dict.fromkeys(found)), unheld + unheld_instruments(question, knowledge)


def records_dated(when: str, knowledge: Knowledge) -> list[str]:
    """The records of meetings held on a date, as precise as it is: '27 September 2022', 'April 2025'. A record that
    gives only its month ('September 2013') is of any day in it."""
    day, month, year = re.fullmatch(rf"(?:(\d{{1,2}}) )?({MONTH_NAME}) (\d{{4}})", when).groups()
    asked = "-".join(filter(None, [year, f"{MONTHS.index(month) + 1:02d}", day and f"{int(day):02d}"]))
    return [doc for doc, held in knowledge.record_dates.items() if held.startswith(asked) or asked.startswith(held)]


def session_keys(series: str) -> list[str]:
    """The sessions a series of ordinals names ('thirty-ninth and fortieth' -> both); words that are no ordinal
    ('human rights and fortieth') name none."""
    return [key for key in map(session_key, SERIES_BREAK.split(series)) if key]


def held_instruments(question: str, knowledge: Knowledge) -> list[str]:
    """The documents that are the general comments and recommendations a question names ('How does general comment
    No. 5 define ...?'): their own passages answer before those that cite them."""
    held: list[str] = []
    for match in INSTRUMENT_REF.finditer(question):
        kind, body = fold(match.group("kind")), match.group("body")
        # a joint comment is named by both its numbers: 'No. 4/23', 'No. 4/No. 23', 'Nos. 3 and 22'
        numbers = [match.group("number"), *re.findall(r"\d+", match.group("pair") or "")]
        each = [knowledge.holds_instrument(kind, int(n), body) for n in numbers]
        both = [d for d in each[0] if all(d in docs for docs in each[1:])]
        if re.search(r"\bjoint\s+$", question[: match.start()], re.I):
            both = [d for d in both if knowledge.is_joint(d)] or both
        held += both or [d for docs in each for d in docs]  # 'general comments No. 2 and No. 5' are two, not one joint
    return list(dict.fromkeys(held))


def unheld_instruments(question: str, knowledge: Knowledge) -> list[str]:
    """The general comments and recommendations a question names when the corpus is none of them: it may mention
    them ('the Committee's future general comment No. 7'), but cannot say what they say. One held is enough ('Citing
    general comment No. 14, how does joint general comment No. 3 ...?')."""
    if held_instruments(question, knowledge):
        return []
    return [" ".join(m.group().split()) for m in INSTRUMENT_REF.finditer(question)]


def proper_names(text: str, reading: Reading) -> list[str]:
    """Capitalised words past the first that are not question words, titles, States, people or records: the
    question's own names ('Olympic', 'Agadir', 'UNHCR')."""
    known = {fold(w) for p in reading.persons for w in p.split()}
    known |= {fold(w) for s in reading.states for w in words(s)}
    names = []
    tokens = words(text)
    for i, token in enumerate(tokens):
        folded = fold(token)
        if i == 0 or not token[:1].isupper() or folded in STOPWORDS | QUESTION_WORDS or folded in known:
            continue
        if folded in {"mr", "ms", "mrs", "dr", "chair", "committee", "convention", "i"} or states_in(token):
            continue
        if token in MONTHS:  # a time, not a name
            continue
        names.append(token)
    return list(dict.fromkeys(names))


def speaking_subject(question: str) -> str | None:
    """Who a question asks to have spoken, when it names someone other than the Committee or its records."""
    match = SUBJECT.search(question)
    if not match:
        return None
    who = next(g for g in match.groups() if g)
    tokens = {fold(w) for w in words(who)}
    return None if not tokens or tokens & RECORD_ITSELF or tokens <= STOPWORDS else who


def is_follow_up(reading: Reading) -> bool:
    """After an earlier turn: a question that points back ('And what did Mexico say?', 'When was that?') or names
    nothing of its own ('Which country was the latest to join?')."""
    named = reading.documents or reading.speakers or reading.names or reading.states or reading.persons
    return bool(FOLLOW_UP.search(reading.question)) or not (named or reading.years or reading.numbered)
