"""Passages: split a document's text into citable paragraphs, each exactly once.

Summary records carry printed paragraph numbers ("24."), speakers ("Mr. Flynn (Global Detention
Project) said"), agenda-item headings and a header page. Other documents (the concept note) have
numbered sections and footnotes instead; their labels come from that structure ("sect. 2,
para. 3", "fn. 1"), never invented paragraph numbers. Text stays verbatim apart from layout:
markdown marks, page furniture and layout whitespace go; words and punctuation stay.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from assistant.documents import Document, Problem

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
NUMBERED = re.compile(r"^(\d{1,4})\.\s+(\S.*)$")
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


# ---- structure ----


@dataclass
class Block:
    """A paragraph in the making: its lines joined across page breaks."""

    line: int
    raw: str
    text: str
    number: int | None = None
    section: str | None = None
    parts: list[str] = field(default_factory=list)


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
    """Passages of one document: a summary record, or a sectioned document such as a concept note."""
    lines = text.splitlines()
    if doc.kind == "summary_record" or (doc.kind == "document" and looks_like_record(lines)):
        return parse_record(lines, doc)
    return parse_sectioned(lines, doc)


def looks_like_record(lines: list[str]) -> bool:
    cleaned = [clean_markup(line) for line in lines]
    return any(PROCEDURAL.match(t) for t in cleaned) or sum(bool(NUMBERED.match(t)) for t in cleaned) >= 3


def parse_record(lines: list[str], doc: Document) -> tuple[list[Passage], list[Problem]]:
    problems: list[Problem] = []
    header_lines: list[str] = []
    notes: list[str] = []  # procedural lines and title footnotes, kept with the header
    blocks: list[Block] = []
    header_line = 1
    in_header = True
    section: str | None = None
    numbered = sum(bool(NUMBERED.match(clean_markup(t))) for t in lines) >= 2
    for lineno, raw in enumerate(lines, start=1):
        text = clean_markup(raw)
        if not text or is_furniture(text):
            continue
        if PROCEDURAL.match(text):
            in_header = False
            notes.append(text)
            continue
        match = NUMBERED.match(text) if numbered else None
        if in_header and not match:
            if not header_lines:
                header_line = lineno
            header_lines.append(text)
            continue
        in_header = False
        if match:
            blocks.append(Block(lineno, raw, match.group(2), int(match.group(1)), section))
        elif LEADING_MARK.match(raw.strip().lstrip("\\")) or raw.strip().startswith(("*\t", "\\*")):
            notes.append(text)  # a footnote to the title, printed at the end of the record
        elif blocks and continues_previous(text):
            blocks[-1].parts.append(text)
        elif is_heading(text) and not find_speaker(raw, text):
            section = text
        elif numbered and blocks:
            problems.append(
                Problem(doc.source, lineno, f"unnumbered text joined to paragraph {blocks[-1].number}", "warning")
            )
            blocks[-1].parts.append(text)
        else:
            blocks.append(Block(lineno, raw, text, None, section))
    if not numbered:
        for i, block in enumerate(blocks, start=1):
            block.number = i
    problems += check_numbering(blocks, doc)
    header = header_passage(doc, header_lines, notes, header_line, problems)
    passages = [header] if header else []
    speaker: tuple[str, str | None] | None = None
    last_section = None
    for block in blocks:
        if block.section != last_section:
            speaker, last_section = None, block.section
        found = find_speaker(block.raw, block.text)
        speaker = found or speaker
        body = " ".join([block.text, *block.parts])
        passages.append(
            Passage(
                document=doc.cite_as,
                doc_id=doc.id,
                title=doc.title,
                paragraph=str(block.number),
                number=block.number,
                inferred=not numbered,
                kind="paragraph",
                text=body,
                source=doc.source,
                line=block.line,
                order=len(passages),
                speaker=speaker[0] if speaker else None,
                affiliation=speaker[1] if speaker else None,
                section=block.section,
                date=doc.date,
                session=doc.session,
            )
        )
    if not numbered and blocks:
        problems.append(
            Problem(
                doc.source, blocks[0].line, f"no printed paragraph numbers; {len(blocks)} numbered in order", "warning"
            )
        )
    return passages, problems


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

HEADER_FIELDS = {
    "meeting": re.compile(r"Summary record.*? of the (\d+)(?:st|nd|rd|th) meeting", re.I),
    "session": re.compile(r"\b([A-Z][a-z]+(?:-[a-z]+)?) session\b"),
    "place": re.compile(r"Held at the (.+?), on\b"),
    "date": re.compile(r"\bon \w+day, (\d{1,2} \w+ \d{4})"),
    "chair": re.compile(r"^Chair(?:person)?: (.+)$", re.M),
    "issued": re.compile(r"Distr\.: \w+\n(\d{1,2} \w+ \d{4})"),
    "title": re.compile(r"^(Summary record.*? meeting)$", re.M),
}
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def iso_date(text: str) -> str | None:
    day, month, year = text.split()
    if month not in MONTHS:
        return None
    return f"{year}-{MONTHS.index(month) + 1:02d}-{int(day):02d}"


def human_date(iso: str | None) -> str:
    """'2013-11-26' -> '26 November 2013', '2013-09' -> 'September 2013', as records print dates."""
    parts = (iso or "").split("-")
    if len(parts) >= 2 and parts[1].isdigit() and 1 <= int(parts[1]) <= 12:
        month = MONTHS[int(parts[1]) - 1]
        return f"{int(parts[2])} {month} {parts[0]}" if len(parts) == 3 else f"{month} {parts[0]}"
    return iso or ""


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
    return found


def header_passage(
    doc: Document, header_lines: list[str], notes: list[str], line: int, problems: list[Problem]
) -> Passage | None:
    """The header as a passage of its own; where the file lost it, one built from the manifest."""
    from_text = read_header("\n".join(header_lines))
    for name, value in from_text.items():
        current = getattr(doc, name)
        if current in (None, ""):
            setattr(doc, name, value)
        elif value is not None and str(current) != str(value):
            problems.append(
                Problem(doc.source, line, f"header says {name} {value!r}, manifest says {current!r}; manifest kept")
            )
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
