"""Passages: split a document's text into citable paragraphs, each exactly once.

Summary records and general comments carry printed paragraph numbers ("24." or "24.Text"); records also
speakers ("Mr. Flynn (Global Detention Project) said") and agenda-item headings, general comments headings
at levels "I.", "A.", "1."; both may open with a header block, and a table of contents that is not content.
One reader (`NumberedReader`) reads them all. Other documents (the concept note) have numbered sections and
footnotes instead; their labels come from that structure ("sect. 2, para. 3", "fn. 1"), never invented
paragraph numbers. Text stays verbatim apart from layout: markdown marks, page furniture and layout
whitespace go; words and punctuation stay.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from assistant.documents import Document, Problem
from assistant.text import human_date, iso_date

# ---- the record passed on to embeddings, index and answers ----


@dataclass(frozen=True)
class Passage:
    document: str  # symbol, or the stable id where there is none: what a citation names
    doc_id: str  # URL-safe document id
    title: str
    paragraph: str  # the label as cited: "24", "header", "sect. 2, para. 3", "fn. 1"
    number: int | None  # printed (or inferred) paragraph number
    inferred: bool  # number or header not printed in the text but inferred / taken from the manifest
    kind: str  # paragraph | header | footnote | heading
    text: str
    source: str  # file name
    line: int  # 1-based line where the passage starts in the source
    order: int  # position within the document
    speaker: str | None = None
    affiliation: str | None = None
    section: str | None = None
    date: str | None = None
    session: str | None = None
    footnotes: tuple[str, ...] = ()  # labels of footnotes this paragraph calls
    parent: str | None = None  # for a footnote: the label of the paragraph that calls it

    @property
    def id(self) -> str:
        return f"{self.doc_id}#{self.anchor}"

    @property
    def label(self) -> str:
        """The citation as printed: 'CMW/C/SR.506, para. 24'."""
        if self.kind == "paragraph" and self.number is not None and self.paragraph.isdigit():
            return f"{self.document}, para. {self.paragraph}"
        return f"{self.document}, {self.paragraph}"

    @property
    def anchor(self) -> str:
        """Fragment id in the reader page: '24' -> 'para-24', 'sect. 2, para. 3' -> 'sect-2-para-3'."""
        return "para-" + self.paragraph if self.paragraph.isdigit() else slug_label(self.paragraph)

    def to_dict(self) -> dict:
        data = asdict(self)
        data.update(id=self.id, label=self.label, anchor=self.anchor, footnotes=list(self.footnotes))
        return data


def slug_label(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


# ---- layout normalisation: markdown marks and page furniture ----

FURNITURE = [
    re.compile(r"^GE\.\d{2}-\d{4,6}\b.*$"),  # job number line: "GE.13-46672  (E)    061113    261113"
    re.compile(r"^\d{1,3}\s+GE\.\d{2}-\d{4,6}$"),  # running footer: "6	GE.13-46672"
    re.compile(r"^GE\.\d{2}-\d{4,6}\s+\d{1,3}$"),
    re.compile(r"^\S+\.(?:wmf|emf|png|jpe?g|gif|bmp|tiff?)$", re.I),  # image file names
    re.compile(r"^Please recycle\b.*$", re.I),
    re.compile(r"^-{3,}$|^\*{3,}$|^_{3,}$"),  # markdown rules
    re.compile(r"^\d{1,3}$"),  # bare page numbers
]
CORRECTION_NOTICE = re.compile(
    r"^(This record is subject to correction|Corrections should be|Any correct(ed|ions to the) records)", re.I
)
PROCEDURAL = re.compile(
    r"^(The meeting (was called to order|rose|was suspended|was resumed|resumed)"
    r"|The discussion covered in the summary record (began|ended))\b",
    re.I,
)
INLINE_FURNITURE = re.compile(r"\[bookmark: [^\]]*\]")
FOOTNOTE_REF = re.compile(r"\[footnoteRef:(\d+)\]")
FOOTNOTE_TEXT = re.compile(r"\[(\d+):\s+(.*?)\s*\](?=\s*(?:\[\d+:|$))")
MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~])")
BOLD = re.compile(r"\*\*(.+?)\*\*")
EMPHASIS = re.compile(r"(?<![\w*\\])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
ASTERISK_MARK = re.compile(r"(?<=[\w).])\*{1,3}(?=[\s,.;:]|$)")  # footnote marks: "meeting*", "(partial)*"
LEADING_MARK = re.compile(r"^\*{1,3}\s+")  # footnote text: "* No summary records were issued ..."
NUMBERED = re.compile(r"^(\d{1,4})\.(?:\s+|(?=[^\d\s.]))(\S.*)$")  # "24. The", "24.The"; not "10.10 a.m."
SECTION_HEADING = re.compile(r"^(\d{1,2})\.\s+(\S.{0,120})$")
MD_HEADING = re.compile(r"^#{1,6}\s+")
BULLET = re.compile(r"^[·•]\s*")

ESCAPED_STAR = "\x00"


def clean_markup(line: str) -> str:
    """Drop markdown and layout marks from one line; words and punctuation stay as printed."""
    line = INLINE_FURNITURE.sub("", line)
    line = MD_HEADING.sub("", line.strip())
    line = MD_LINK.sub(r"\1", line)
    line = line.replace("\\*", ESCAPED_STAR)  # an escaped star is a printed footnote mark
    line = MD_ESCAPE.sub(r"\1", line)
    line = BOLD.sub(r"\1", line)
    line = EMPHASIS.sub(r"\1", line)
    line = line.replace(ESCAPED_STAR, "*")
    line = LEADING_MARK.sub("", line)
    line = BULLET.sub("", line)
    line = ASTERISK_MARK.sub("", line)
    line = re.sub(r"^\*(?=[^\s*])", "", line)  # emphasis opened here and closed on a later line
    line = line.replace("**", "")
    line = re.sub(r"\s\*{1,3}\s*$", "", line)  # a footnote mark set off by a space: "in the context of migration *"
    return re.sub(r"\s+", " ", line).strip()


def is_furniture(line: str) -> bool:
    return any(p.match(line) for p in FURNITURE) or bool(CORRECTION_NOTICE.match(line))


# ---- speakers ----

TITLE = r"(?:Mr|Ms|Mrs|Mme|Mmes|Messrs|Dr|Prof)\.?"
NAME_WORD = r"(?:[A-ZÀ-Ý][\w'’\-]+|de|del|la|da|van|von|der|el|al|bin|ben)"
SPEAKER = re.compile(
    rf"^(?P<who>(?:The |the )?Chair(?:person|man|woman)?|{TITLE} {NAME_WORD}(?: {NAME_WORD}){{0,4}})"
    r"(?=[\s,(])"
)
VERB_AFTER = re.compile(r"^\s*(?:,|(?:[a-z]+ly\s+)?[a-z][a-z\-]+\b)")


def split_parenthetical(text: str) -> tuple[str | None, str]:
    """'(OHCHR (x)) said ...' -> ('OHCHR (x)', ' said ...'): balanced parentheses at the start."""
    if not text.startswith("("):
        return None, text
    depth = 0
    for i, ch in enumerate(text):
        depth += (ch == "(") - (ch == ")")
        if depth == 0:
            return text[1:i].strip(), text[i + 1 :]
    return None, text


def find_speaker(raw: str, text: str) -> tuple[str, str | None] | None:
    """Speaker and affiliation opening a paragraph, from bold marks where the record has them."""
    bold = BOLD.search(raw)
    if bold and bold.start() < 80:
        who = clean_markup(bold.group(1))
        after = clean_markup(raw[bold.end() :]) if raw[bold.end() :].strip() else ""
        if SPEAKER.match(who + " "):
            affiliation, _ = split_parenthetical(after.lstrip())
            return normalise_speaker(who), affiliation
    match = SPEAKER.match(text)
    if not match:
        return None
    who = match.group("who")
    affiliation, rest = split_parenthetical(text[match.end() :].lstrip())
    if not VERB_AFTER.match(rest if affiliation is None else rest):
        return None
    return normalise_speaker(who), affiliation


def normalise_speaker(who: str) -> str:
    who = who.strip(" ,")
    return who[0].upper() + who[1:] if who.lower().startswith("the ") else who


# ---- structure of a numbered UN document ----
#
# One reader for every document whose paragraphs carry printed numbers (summary records, general comments and
# recommendations): a header block (symbol, Distr., date, original language, committee, session, title), maybe a
# table of contents, headings at several levels ("I.", "A.", "1." or unnumbered), numbered paragraphs ("24. The"
# or "24.The"), their sub-paragraphs ("(a)", "(i)"), footnote lines and page furniture.

ROMAN_HEADING = re.compile(r"^([IVXLC]{1,7})\.\s*(\S.*)$")  # "I.Introduction", "VII. Recommendations"
LETTER_HEADING = re.compile(r"^([A-Z])\.\s*(\S.*)$")  # "A.Socioeconomic injustice"
SUBPARAGRAPH = re.compile(r"^\(\s?([a-z]{1,2}|[ivxlc]{1,6}|\d{1,2})\s?\)\s*(?=\S)")  # "(a)Text", "(c ) Text"
LIST_ITEM = re.compile(r"^[-–]\s+\S")  # "- Establish early identification measures"
FOOTNOTE_LINE = re.compile(r"^(\d{1,3})\s+(\S.*)$")  # "3 See A/HRC/39/29": a number with no full stop
PAGE_NUMBER = re.compile(r"^\d{1,3}$")
CONTENTS_ENTRY = re.compile(r"^\S.*?(?:\s*\.{3,}\s*|\s{2,}|\t)\d{1,3}$")  # "Introduction ........ 2"
CONTENTS_MARKER = re.compile(r"^(?:contents|table of contents|page|paragraphs\s+page)$", re.I)
SYMBOL_LINE = re.compile(r"^([A-Z][A-Z0-9]{0,9}(?:\s?/\s?[A-Za-z0-9.\-]+)+)$")  # "CED /C/GC/1", "CMW/C/SR.506"


@dataclass
class Block:
    """A paragraph in the making: its lines joined across page breaks, its sub-paragraphs appended."""

    line: int
    raw: str
    text: str
    number: int | None = None
    section: str | None = None
    parts: list[str] = field(default_factory=list)
    footnotes: list[int] = field(default_factory=list)


@dataclass
class Heading:
    level: int  # 1: "I.", 2: "A.", 3: "1."; an unnumbered heading takes the level of the one before it
    text: str  # as printed, with the space after its number restored: "A. Data collection"


@dataclass
class Footnote:
    number: int
    line: int
    text: str
    block: Block | None  # the paragraph that calls it


def is_heading(text: str) -> bool:
    """Agenda-item headings are short, capitalised and end without a full stop."""
    return (
        bool(text)
        and len(text) <= 250
        and len(text.split()) <= 30
        and text[0].isupper()
        and not text.endswith((".", ";", ":", ",", "?", "!"))
        and not NUMBERED.match(text)
    )


def continues_previous(text: str) -> bool:
    """A page break inside a paragraph leaves its tail starting with a lower-case word."""
    return bool(text) and (text[0].islower() or text[0] in ",;)")


def parse_document(text: str, doc: Document) -> tuple[list[Passage], list[Problem]]:
    """Passages of one document: numbered (records, general comments) or sectioned (a concept note)."""
    lines = text.splitlines()
    if doc.kind == "document":
        doc.kind = infer_kind(lines)
    numbered = sum(bool(NUMBERED.match(clean_markup(line))) for line in lines) >= 3
    if doc.kind in ("summary_record", "general_comment") or (doc.kind == "document" and numbered):
        return parse_numbered(lines, doc)
    return parse_sectioned(lines, doc)


def infer_kind(lines: list[str]) -> str:
    """A document the manifest does not type: its opening lines say what it is."""
    opening = [clean_markup(line) for line in lines[:60]]
    if any(PROCEDURAL.match(t) or t.lower().startswith("summary record") for t in opening):
        return "summary_record"
    if any(GENERAL_COMMENT_TITLE.match(t) for t in opening):
        return "general_comment"
    return "document"


def paragraph_start(text: str) -> re.Match | None:
    """A numbered line that opens a paragraph, not a numbered heading or a contents entry."""
    match = NUMBERED.match(text)
    if not match or is_heading(match.group(2)) or CONTENTS_ENTRY.match(text):
        return None
    return match


def contents_lines(texts: list[tuple[int, str]]) -> set[int]:
    """Line numbers of a table of contents before the first paragraph: titles, each followed by its page.

    It ends at its last page number, so headings between it and paragraph 1 ("I.Introduction") stay; and every
    line in it must be a title, a page number or a marker ("Page"), so page numbers among paragraphs never make one.
    """
    first = next((k for k, (_, t) in enumerate(texts) if paragraph_start(t)), len(texts))
    pages = [k for k in range(first) if PAGE_NUMBER.match(texts[k][1]) or CONTENTS_ENTRY.match(texts[k][1])]
    if len(pages) < 3:
        return set()
    start = pages[0] - 1 if PAGE_NUMBER.match(texts[pages[0]][1]) and pages[0] > 0 else pages[0]
    if start > 0 and CONTENTS_MARKER.match(texts[start - 1][1]):
        start -= 1
    span = texts[start : pages[-1] + 1]
    if not all(
        PAGE_NUMBER.match(t) or CONTENTS_ENTRY.match(t) or CONTENTS_MARKER.match(t) or is_heading(t) for _, t in span
    ):
        return set()
    return {lineno for lineno, _ in span}


def normal_symbol(text: str) -> str:
    """'CED /C/GC/1' -> 'CED/C/GC/1': conversions scatter spaces around the slashes."""
    return re.sub(r"\s*/\s*", "/", text.strip())


class NumberedReader:
    """Reads a numbered document line by line into header, headings, paragraph blocks and footnotes."""

    def __init__(self, doc: Document, numbered: bool) -> None:
        self.doc = doc
        self.numbered = numbered  # False: a record whose conversion lost the numbers; they are inferred in order
        self.speakers = doc.kind == "summary_record"
        self.header: list[str] = []
        self.header_line = 1
        self.notes: list[str] = []  # procedural lines and title footnotes, kept with the header
        self.blocks: list[Block] = []
        self.headings: list[Heading] = []
        self.footnotes: list[Footnote] = []
        self.problems: list[Problem] = []
        self.dropped: dict[str, int] = {}
        self.in_header = True
        self.after_items = False  # the last line was a sub-paragraph or list item

    @property
    def section(self) -> str | None:
        return " / ".join(h.text for h in self.headings) or None

    @property
    def expected(self) -> int:
        """The number the next paragraph should carry."""
        return next((b.number + 1 for b in reversed(self.blocks) if b.number is not None), 1)

    def drop(self, why: str) -> None:
        self.dropped[why] = self.dropped.get(why, 0) + 1

    def read(self, lines: list[str]) -> None:
        texts = [(lineno, clean_markup(raw)) for lineno, raw in enumerate(lines, start=1)]
        contents = contents_lines([(n, t) for n, t in texts if t])
        for (lineno, text), raw in zip(texts, lines, strict=True):
            if not text:
                continue
            if lineno in contents:
                self.drop("table of contents")
            elif is_furniture(text) or (not self.in_header and self.is_symbol(text)):
                self.drop("page furniture")
            elif PROCEDURAL.match(text):
                self.in_header = False
                self.notes.append(text)
            elif self.in_header and not self.opens_body(text):
                self.header_line = self.header_line if self.header else lineno
                self.header.append(normal_symbol(text) if SYMBOL_LINE.match(text) else text)
            else:
                self.in_header = False
                self.read_body_line(lineno, raw, text)

    def is_symbol(self, text: str) -> bool:
        """The document's own symbol, repeated at the top of each page; known from the manifest or the header."""
        if not SYMBOL_LINE.match(text):
            return False
        known = self.doc.symbol or next((t for t in self.header if SYMBOL_LINE.match(t)), "")
        return normal_symbol(text) == normal_symbol(known)

    def opens_body(self, text: str) -> bool:
        return bool((self.numbered and paragraph_start(text)) or self.structural_heading(text))

    def structural_heading(self, text: str) -> Heading | None:
        """'I.Introduction' (level 1), 'A.Data collection' (2), or '1.Victim identification' (3) where the number
        does not continue the paragraphs; "C." after "B." is a letter, not the Roman hundred."""
        numbered = NUMBERED.match(text) if self.numbered else None
        if numbered and is_heading(numbered.group(2)) and int(numbered.group(1)) != self.expected:
            return Heading(3, f"{numbered.group(1)}. {numbered.group(2)}")
        for pattern in (LETTER_HEADING, ROMAN_HEADING):
            match = pattern.match(text)
            if match and is_heading(match.group(2)):
                label = match.group(1)
                level = 2 if pattern is LETTER_HEADING and self.continues_letters(label) else 1
                if level == 1 and not ROMAN_HEADING.match(text):
                    continue
                return Heading(level, f"{label}. {match.group(2)}")
        return None

    def continues_letters(self, label: str) -> bool:
        last = next((h.text[0] for h in reversed(self.headings) if h.level == 2), None)
        return label == "A" or (last is not None and ord(label) == ord(last) + 1) or label not in "IVXLC"

    def add_heading(self, heading: Heading) -> None:
        self.headings = [h for h in self.headings if h.level < heading.level] + [heading]

    def read_body_line(self, lineno: int, raw: str, text: str) -> None:
        heading = self.structural_heading(text)
        match = NUMBERED.match(text) if self.numbered and not heading else None
        if heading:
            self.add_heading(heading)
            self.after_items = False
        elif match:
            self.blocks.append(Block(lineno, raw, match.group(2), int(match.group(1)), self.section))
            self.after_items = False
        elif LEADING_MARK.match(raw.strip().lstrip("\\")) or raw.strip().startswith(("*\t", "\\*")):
            self.notes.append(text)  # a footnote to the title, printed at the end of the record
        elif self.is_footnote(text):
            self.add_footnote(lineno, text)
        elif self.blocks and SUBPARAGRAPH.match(text):
            self.blocks[-1].parts.append(SUBPARAGRAPH.sub(r"(\1) ", text))
            self.after_items = True
        elif self.blocks and LIST_ITEM.match(text):
            self.blocks[-1].parts.append(text)
            self.after_items = True
        elif self.blocks and self.after_items and not is_heading(text):
            self.blocks[-1].parts.append(text)  # the words that close a list belong to its paragraph
        elif self.blocks and continues_previous(text):
            self.blocks[-1].parts.append(text)
        elif is_heading(text) and not (self.speakers and find_speaker(raw, text)):
            level = self.headings[-1].level if self.headings else 1
            self.add_heading(Heading(level, text))
            self.after_items = False
        elif self.numbered and self.blocks:
            message = f"unnumbered text joined to paragraph {self.blocks[-1].number}"
            self.problems.append(Problem(self.doc.source, lineno, message, "warning"))
            self.blocks[-1].parts.append(text)
        else:
            self.blocks.append(Block(lineno, raw, text, None, self.section))

    def is_footnote(self, text: str) -> bool:
        """A footnote line: its number is the next footnote's ("1", "2", ...), after the paragraphs have begun."""
        match = FOOTNOTE_LINE.match(text)
        return bool(match and self.numbered and self.blocks and int(match.group(1)) == len(self.footnotes) + 1)

    def add_footnote(self, lineno: int, text: str) -> None:
        number, note = FOOTNOTE_LINE.match(text).groups()
        call = re.compile(rf"(?<=[^\s\d(/]){number}(?=[\s,.;:)]|$)")  # "norm.3 It", "migration,3"
        recent = self.blocks[-3:]
        caller = next((b for b in reversed(recent) if call.search(" ".join([b.text, *b.parts]))), self.blocks[-1])
        caller.footnotes.append(int(number))
        self.footnotes.append(Footnote(int(number), lineno, note, caller))


def parse_numbered(lines: list[str], doc: Document) -> tuple[list[Passage], list[Problem]]:
    numbered = sum(bool(NUMBERED.match(clean_markup(t))) for t in lines) >= 2
    reader = NumberedReader(doc, numbered)
    reader.read(lines)
    blocks, problems = reader.blocks, reader.problems
    if not numbered:
        for i, block in enumerate(blocks, start=1):
            block.number = i
    problems += check_numbering(blocks, doc)
    header = header_passage(doc, reader.header, reader.notes, reader.header_line, problems)
    doc.dropped = reader.dropped
    passages = [header] if header else []
    passages += paragraph_passages(blocks, doc, inferred=not numbered, speakers=reader.speakers, first=len(passages))
    for note in reader.footnotes:
        parent = str(note.block.number) if note.block else None
        passage = make_passage(
            doc, f"fn. {note.number}", note.number, "footnote", note.text, note.line, len(passages), None
        )
        passages.append(replace_parent(passage, parent))
    if not numbered and blocks:
        problems.append(
            Problem(
                doc.source, blocks[0].line, f"no printed paragraph numbers; {len(blocks)} numbered in order", "warning"
            )
        )
    return passages, problems


def paragraph_passages(blocks: list[Block], doc: Document, inferred: bool, speakers: bool, first: int) -> list[Passage]:
    """One passage per block; in a record, the speaker carries over until another speaks or the item changes."""
    passages = []
    speaker: tuple[str, str | None] | None = None
    last_section = None
    for block in blocks:
        if block.section != last_section:
            speaker, last_section = None, block.section
        found = find_speaker(block.raw, block.text) if speakers else None
        speaker = found or speaker
        passages.append(
            Passage(
                document=doc.cite_as,
                doc_id=doc.id,
                title=doc.title,
                paragraph=str(block.number),
                number=block.number,
                inferred=inferred,
                kind="paragraph",
                text=" ".join([block.text, *block.parts]),
                source=doc.source,
                line=block.line,
                order=first + len(passages),
                speaker=speaker[0] if speaker else None,
                affiliation=speaker[1] if speaker else None,
                section=block.section,
                date=doc.date,
                session=doc.session,
                footnotes=tuple(f"fn. {n}" for n in block.footnotes),
            )
        )
    return passages


def check_numbering(blocks: list[Block], doc: Document) -> list[Problem]:
    problems = []
    expected = 1
    seen: set[int] = set()
    for block in blocks:
        if block.number is None:
            continue
        if block.number in seen:
            problems.append(Problem(doc.source, block.line, f"paragraph {block.number} is numbered twice"))
        elif block.number != expected:
            problems.append(Problem(doc.source, block.line, f"numbering jumps from {expected - 1} to {block.number}"))
        seen.add(block.number)
        expected = block.number + 1
    return problems


# ---- header: metadata read from the text, checked against the manifest ----

GENERAL_COMMENT_TITLE = re.compile(r"^((?:Joint )?[Gg]eneral (?:comment|recommendation) No\. ?\d+\b.*?)\s*\**$")
HEADER_FIELDS = {
    "meeting": re.compile(r"Summary record.*? of the (\d+)(?:st|nd|rd|th) meeting", re.I),
    "session": re.compile(r"\b([A-Z][a-z]+(?:-[a-z]+)?) session\b"),
    "place": re.compile(r"Held at the (.+?), on\b"),
    "date": re.compile(r"\bon \w+day, (\d{1,2} \w+ \d{4})"),
    "chair": re.compile(r"^Chair(?:person)?: (.+)$", re.M),
    "issued": re.compile(r"Distr\.: \w+\n(\d{1,2} \w+ \d{4})"),
    "title": re.compile(r"^(Summary record.*? meeting)$", re.M),
    "symbol": re.compile(SYMBOL_LINE.pattern, re.M),
    "original_language": re.compile(r"^Original: ([A-Z][a-z]+)\b", re.M),
    "body": re.compile(r"^((?:Sub)?[Cc]ommittee (?:on|against|for) .+?)(?: [A-Z][a-z]+(?:-[a-z]+)? session)?$", re.M),
}


def read_header(header_text: str) -> dict:
    found: dict = {}
    for name, pattern in HEADER_FIELDS.items():
        match = pattern.search(header_text)
        if match:
            found[name] = match.group(1).strip()
    if "meeting" in found:
        found["meeting"] = int(found["meeting"])
    if "session" in found:
        found["session"] = f"{found['session']} session"
    for name in ("date", "issued"):
        if name in found:
            found[name] = iso_date(found[name])
    if "symbol" in found:
        found["symbol"] = normal_symbol(found["symbol"])
    title = next((m.group(1) for t in header_text.splitlines() if (m := GENERAL_COMMENT_TITLE.match(t))), None)
    if title and "title" not in found:
        found["title"] = title
    return found


def same_value(a: object, b: object) -> bool:
    """Header and manifest agree when they differ only in spacing ('CED /C/GC/1') or a footnote mark."""

    def norm(value: object) -> str:
        return re.sub(r"\s+", " ", normal_symbol(str(value))).strip(" *").casefold()

    return norm(a) == norm(b)


def header_passage(
    doc: Document, header_lines: list[str], notes: list[str], line: int, problems: list[Problem]
) -> Passage | None:
    """The header as a passage of its own; where the file lost it, one built from the manifest."""
    from_text = read_header("\n".join(header_lines))
    for name, value in from_text.items():
        current = getattr(doc, name)
        if current in (None, ""):
            setattr(doc, name, value)
        elif value is not None and not same_value(current, value):
            problems.append(
                Problem(doc.source, line, f"header says {name} {value!r}, manifest says {current!r}; manifest kept")
            )
    if doc.kind != "summary_record" and not doc.date and doc.issued:
        doc.date = doc.issued  # a general comment is dated by its issue; a record by its meeting
    inferred = not header_lines
    if inferred:
        header_lines = manifest_header(doc)
    if not header_lines and not notes:
        return None
    return Passage(
        document=doc.cite_as,
        doc_id=doc.id,
        title=doc.title,
        paragraph="header",
        number=None,
        inferred=inferred,
        kind="header",
        text="\n".join(header_lines + notes),
        source=doc.source,
        line=line,
        order=0,
        speaker=None,
        affiliation=None,
        section=None,
        date=doc.date,
        session=doc.session,
    )


def manifest_header(doc: Document) -> list[str]:
    """Header lines written from the manifest, for a record whose header page is missing."""
    chair_title = doc.extra.get("chair_title", "Chair")
    lines = [
        doc.body,
        doc.session,
        doc.title,
        f"Symbol: {doc.symbol}" if doc.symbol else None,
        f"Held at the {doc.place}, {human_date(doc.date)}" if doc.place else None,
        f"{chair_title}: {doc.chair}" if doc.chair else None,
        f"Issued: {human_date(doc.issued)}" if doc.issued else None,
        f"Original: {doc.original_language}" if doc.original_language else None,
    ]
    return [line for line in lines if line]


# ---- sectioned documents: numbered sections, unnumbered paragraphs, footnotes ----


def parse_sectioned(lines: list[str], doc: Document) -> tuple[list[Passage], list[Problem]]:
    problems: list[Problem] = []
    header: list[str] = []
    header_line = 1
    rows: list[tuple[int, str, str, str]] = []  # (line, section number, section title, text)
    footnotes: dict[int, tuple[int, str]] = {}
    section_no, section_title = "", None
    for lineno, raw in enumerate(lines, start=1):
        raw, notes = split_footnotes(raw)
        for number, note in notes:
            if number in footnotes:
                problems.append(Problem(doc.source, lineno, f"footnote {number} is defined twice"))
            footnotes[number] = (lineno, note)
        text = clean_markup(raw)
        if not text or is_furniture(text):
            continue
        heading = SECTION_HEADING.match(text)
        if heading and is_heading(heading.group(2)):
            section_no, section_title = heading.group(1), heading.group(2)
            continue
        if section_title is None and not rows:
            if not header:
                header_line = lineno
            header.append(text)
            continue
        rows.append((lineno, section_no, section_title or "", text))
    if header and not doc.title:
        doc.title = " ".join(header[1:3]) if len(header) > 2 else header[0]
    passages: list[Passage] = []
    if header:
        passages.append(make_passage(doc, "header", None, "header", "\n".join(header), header_line, 0, None))
    counts: dict[str, int] = {}
    calls: dict[int, str] = {}
    for lineno, number, title, text in rows:
        counts[number] = counts.get(number, 0) + 1
        label = f"sect. {number}, para. {counts[number]}" if number else f"part {counts[number]}"
        refs = tuple(int(n) for n in FOOTNOTE_REF.findall(text))
        for n in refs:
            calls.setdefault(n, label)
        text = re.sub(r"\s+([,.;:])", r"\1", FOOTNOTE_REF.sub("", text)).strip()
        section = f"{number}. {title}" if number else None
        passage = make_passage(doc, label, None, "paragraph", text, lineno, len(passages), section)
        passages.append(replace_footnotes(passage, tuple(f"fn. {n}" for n in refs)))
    for number in sorted(footnotes):
        lineno, note = footnotes[number]
        if number not in calls:
            problems.append(Problem(doc.source, lineno, f"footnote {number} is never called in the text", "warning"))
        passage = make_passage(
            doc, f"fn. {number}", number, "footnote", clean_markup(note), lineno, len(passages), None
        )
        passages.append(replace_parent(passage, calls.get(number)))
    for number in sorted(set(calls) - set(footnotes)):
        problems.append(Problem(doc.source, None, f"footnote {number} is called but its text is missing"))
    return passages, problems


def split_footnotes(raw: str) -> tuple[str, list[tuple[int, str]]]:
    """'text [1:  note] [2:  note]' -> ('text', [(1, 'note'), (2, 'note')]): Word exports notes inline."""
    notes = [(int(m.group(1)), m.group(2)) for m in FOOTNOTE_TEXT.finditer(raw)]
    return (FOOTNOTE_TEXT.sub("", raw) if notes else raw), notes


def make_passage(
    doc: Document, label: str, number: int | None, kind: str, text: str, line: int, order: int, section: str | None
) -> Passage:
    return Passage(
        document=doc.cite_as,
        doc_id=doc.id,
        title=doc.title,
        paragraph=label,
        number=number,
        inferred=False,
        kind=kind,
        text=text,
        source=doc.source,
        line=line,
        order=order,
        section=section,
        date=doc.date,
        session=doc.session,
    )


def replace_footnotes(passage: Passage, footnotes: tuple[str, ...]) -> Passage:
    return Passage(**{**asdict(passage), "footnotes": footnotes})


def replace_parent(passage: Passage, parent: str | None) -> Passage:
    return Passage(**{**asdict(passage), "parent": parent})
