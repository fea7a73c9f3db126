"""Text normalisation, in one place: folding, words, stems, acronyms, ordinals and dates.

Retrieval, the answerer and the evaluation all read text through these functions, so that a word means
the same thing everywhere ('Türk' and 'Turk' meet; 'regularization' keeps its own stem).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import Stemmer

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
# A character that shows: none of spaces, controls, zero-width and other format characters, common combining marks
# and the blank-looking letters (Braille blank, Hangul fillers). One pattern for the schema and the check alike, so
# that the server accepts every question its schema allows (an unassigned or private-use character shows as a box).
VISIBLE = (
    r"[^\s\u0000-\u001f\u007f-\u009f\u00ad\u0300-\u036f\u115f\u1160\u200b-\u200f\u2028-\u202e\u2060-\u206f"
    r"\u2800\u3164\ufeff\ufff9-\ufffb\uffa0]"
)


def has_visible_text(text: str) -> bool:
    """Whether a question shows anything: the API, the page, the CLI and the answerer all refuse by this."""
    return re.search(VISIBLE, text) is not None


WORD = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ][\w’'\-]*|\d+(?:[.,/]\d+)*(?:st|nd|rd|th)?")
IZE_WORD = re.compile(r"^(\w{3,}?)i[sz](?:ation|ations|e|es|ed|ing)$")
ACRONYM_PLURAL = re.compile(r"^([A-Z]{2,})s$")  # 'NGOs', 'NHRIs'
NAME_PARTICLES = frozenset("de del la da van von der el al bin ben".split())
ORDINALS = (
    """first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth
    fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth"""
).split()
TENS = {2: "twent", 3: "thirt", 4: "fort", 5: "fift", 6: "sixt", 7: "sevent", 8: "eight", 9: "ninet"}

# Function words and the words a question uses to ask rather than to name content.
STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be been before being below
    between both but by can could did do does doing down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just me more most
    my myself no nor not now of off on once only or other our ours out over own same she should so some
    such than that the their theirs them themselves then there these they this those through to too
    under until up very was we were what when where which while who whom why will with would you your
    yours according say said says tell told mention mentioned anything something someone thing things
    many much whose ever also us get got give gave go went make made know want wanted please exactly
    actually really roughly approximately around nearly almost ok okay""".split()
)


@lru_cache(maxsize=1)
def stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def irregular_forms() -> dict[str, str]:
    """An irregular verb's past forms -> its base ('took', 'taken' -> 'take'), which no stemmer derives."""
    forms = {}
    for line in (Path(__file__).with_name("data") / "irregular_verbs.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            base, *inflected = line.split()
            forms.update((form, base) for group in inflected for form in group.split("/") if form != base)
    return forms


def fold(text: str) -> str:
    """Lower case without accents, so 'Türk' and 'Turk', 'Méndez' and 'Mendez' meet."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def without_possessive(word: str) -> str:
    """'Committee's' -> 'Committee'."""
    return re.sub(r"['’]s$", "", word)


def words(text: str) -> list[str]:
    stripped = (w.strip("’'-") for w in WORD.findall(text))
    return [part for w in stripped if w for part in uncontracted(w)]


# English contractions, as lay questions write them: 'they're' is 'they', not a word the corpus never uses
CONTRACTION = re.compile(r"^(\w+?)(n['’]t|['’](?:re|ve|ll|d|m))$", re.I)
NEGATED_BASES = {"ca": "can", "wo": "will", "sha": "shall"}  # 'can't', 'won't', 'shan't'


def uncontracted(word: str) -> tuple[str, ...]:
    """'they're' -> ('they',), 'don't' -> ('do', 'not'), 'won't' -> ('will', 'not'); other words unchanged."""
    match = CONTRACTION.match(word) if "'" in word or "’" in word else None
    if not match:
        return (word,)
    base, clitic = match.groups()
    if clitic[0].lower() == "n":
        return NEGATED_BASES.get(base.lower(), base), "not"
    return (base,)


@lru_cache(maxsize=1 << 17)
def stem(word: str) -> str:
    """One folded word's stem: an acronym's plural is the acronym ('NGOs' -> 'ngo', which Snowball keeps whole, as it
    does 'gas'); an irregular verb's past forms are its base ('took' -> 'take'); -ize words keep their
    stem ('regularization' -> 'regulariz', not Snowball's 'regular', which would meet 'Safe, Orderly and Regular
    Migration'). Cached: a corpus's words are few, its sentences many."""
    token = without_possessive(fold(ACRONYM_PLURAL.sub(r"\1", word)))
    token = irregular_forms().get(token, token)
    match = IZE_WORD.match(token)
    return match.group(1) + "iz" if match else stemmer().stemWord(token)


@lru_cache(maxsize=1 << 17)
def content_stem(word: str) -> str | None:
    """A word's stem, or None for a stopword."""
    return None if without_possessive(fold(word)) in STOPWORDS else stem(word)


def stems(text: str) -> list[str]:
    """Content-word stems of a text, in order, stopwords left out."""
    return [s for s in map(content_stem, words(text)) if s is not None]


def acronym(phrase: str) -> str:
    """'International Organization for Migration' -> 'IOM'; small words are skipped as the UN does."""
    return "".join(w[0] for w in phrase.split() if w[:1].isupper() and w.lower() not in NAME_PARTICLES)


def ordinal_word(n: int) -> str:
    """45 -> 'forty-fifth', 30 -> 'thirtieth' (sessions are printed as words)."""
    if n < 20:
        return ORDINALS[n - 1] if n > 0 else str(n)
    tens, unit = divmod(n, 10)
    if tens not in TENS:
        return str(n)
    return f"{TENS[tens]}ieth" if unit == 0 else f"{TENS[tens]}y-{ORDINALS[unit - 1]}"


def ordinal_of(token: str) -> str | None:
    """'39th' or 'thirty-ninth' -> 'thirty-ninth'; None for anything else."""
    token = fold(token)
    if re.fullmatch(r"\d{1,3}(?:st|nd|rd|th)", token):
        return ordinal_word(int(token[:-2]))
    known = {ordinal_word(n) for n in range(1, 100)}
    return token if token in known else None


def iso_date(text: str) -> str | None:
    """'26 November 2013' -> '2013-11-26'."""
    parts = text.split()
    if len(parts) != 3 or parts[1] not in MONTHS or not parts[0].isdigit():
        return None
    day, month, year = parts
    return f"{year}-{MONTHS.index(month) + 1:02d}-{int(day):02d}"


def human_date(iso: str | None) -> str:
    """'2013-11-26' -> '26 November 2013', '2013-09' -> 'September 2013', as records print dates."""
    parts = (iso or "").split("-")
    if len(parts) >= 2 and parts[1].isdigit() and 1 <= int(parts[1]) <= 12:
        month = MONTHS[int(parts[1]) - 1]
        return f"{int(parts[2])} {month} {parts[0]}" if len(parts) == 3 else f"{month} {parts[0]}"
    return iso or ""
