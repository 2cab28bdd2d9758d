"""Redaction: take a person's identifiers out of free text that must itself be kept.

Used by erasure (requests.services.erasure) on case notes, descriptions, change reasons and
the breach register, and by the ICO breach report (requests.services.breach_report): every
identifying value the person has ever had on record (customers.subject.Identifiers: the live
record and every version in its history) is replaced by REDACTED, however it was written.

How: normalised-token matching, one mechanism for every kind of value, not a pattern per
spelling. The text and each value are normalised the same way (Unicode compatibility form,
diacritics removed, case folded, curly apostrophes made straight: "Zoë O\u2019Brien" is "zoe
o'brien") and cut into tokens, the runs of letters and digits. A value matches where its
tokens appear one after another in the text, separated only by punctuation or spaces (at most
MAX_GAP characters, no letter or digit between), and always on token boundaries: "Smith" never
matches inside "Smithson" or "Blacksmith", "Ann" leaves "Annual", and "Smith's" loses "Smith"
(the "'s" is a token of its own). Each token of a value may be written several ways (a slot):

- a number with or without its leading zero and as an ordinal (4, 04, 4th);
- a month as any of its abbreviations (Sep, Sept, September);
- an address word as its usual abbreviation (St/Street, Rd/Road, Ave/Avenue...: EQUIVALENT).

Values whose spacing means nothing (phone numbers, postcodes, and the date of birth written
as one number) are matched compactly: a run of tokens whose characters, joined, are one of the
value's compact forms, so "+44 (0)7700 900123", "07700/900123", "07700-900-123" and
"447700900123" are all 7700900123, and "SW1A-1AA" and "sw1a1aa" are SW1A 1AA. Emails are
matched whole, in any case.

Dates of birth: day-month-year and year-month-day in digits (4/9/61, 04.09.1961, 1961-09-04),
with the month in words before or after the day (4 Sept 1961, 4th of September 1961, 4-Sep-1961,
Sept. 4, 1961), and as one number (04091961, 19610904, 040961). Month-day-year in digits
(the American order) is not matched: in a UK text 09/04/1961 is another day.

Names. A forename or surname is redacted alone, also possessive, unless it is also an
everyday English word (COMMON_WORDS: May, Rose, Young, Brown, Hope, Bill...). Such a name is
redacted only in name context: beside another of the person's names ("Jane Brown", "Brown,
Jane"), their initial ("J. Brown", "J Brown"), or a title (any usual title or the person's
own: "Mrs Brown", "Dr May"). A title or initial counts only written with a capital ("we miss
may", "a brown envelope" are not name context), and beside another name the common word must
be capitalised too. So "in May we wrote" and "a brown envelope" survive the erasure of Jane May
Brown while "Mrs Brown phoned" does not. An unusual surname ("Trevithick") goes wherever it
appears as a word. A title or initial just before a name, and names next to each other, go as
one ("Mrs J. Smith" is one "[erased]"). The list is data, not a rule per example: a surname
added to it is then redacted only in name context.
"""

from __future__ import annotations

import calendar
import datetime
import functools
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import phonenumbers

from customers.models import Customer
from customers.subject import Identifiers

REDACTED = "[erased]"

Redact = Callable[[str], str]

MIN_NAME_LENGTH = 2
MIN_ADDRESS_LENGTH = 5
# Most characters between two tokens of one value ("Sept. 4, 1961", "+44 (0)7700").
MAX_GAP = 4
# Compact values (phones, postcodes, dates as one number) are joined from at most this many tokens.
MAX_COMPACT_TOKENS = 6
# Characters just before a match that belong to it ("+44...", "(07700) ...").
_LEADING = "+("

TITLES = frozenset(
    {"mr", "mrs", "ms", "miss", "mx", "dr", "sir", "dame", "lady", "lord", "prof", "professor", "rev", "revd", "fr"}
)

# Surnames and forenames that are also everyday English words: redacted only in name context.
COMMON_WORDS = frozenset(
    """
    able ash baker bank banks barber bass bell berry best bill bird bishop black bloom bond booth bow bower bowl
    brand brass brewer bright brook brooks brown buck bull bush butcher butler cane cannon card carpenter carter
    cash castle chance chase cherry church clay clear cliff cole cook cooper cotton cross crow dale dark dart
    daw dawn day deal dean diamond dove down drake drew duke early east eve fair faith farmer fields fish fisher
    fletcher ford forest fort fox frank free friend frost fry fuller gardener gay gill glass gold golding good
    goodman grace grant gray green grey grove guy hall ham hand hardy harper hart hay hazel head heath hill
    holly hook hope horn house hunt hunter iris ivy jack jay jewel joy judge keen king knight lake lamb land
    lane law lea lee light lily little long lord love low lucky major mark marsh mason master may meadow mercy
    mill miller mills moon moor moss mount new newman noble north oak page palmer park parks pat patience peace
    pearl penny person pike pine piper pool pope porter pound power price prince rain ray read reed rich rider
    ring rivers robin rock rose row ruby rush sage salt sand savage sharp shepherd short silver skinner slater
    small smart snow south sparrow spring squire star steel stone storm street strong summer summers sunny swan
    sweet tanner temple thatcher tower trim true tucker turner vale walker wall ward ware warren waters watt way
    weaver well wells west white wild will wise wolf wood woods wren wright young
    """.split()  # noqa: SIM905 (a word list reads better as words)
)

# Address words and their usual abbreviations: either spelling matches the other.
EQUIVALENT = [
    {"street", "st", "str"},
    {"road", "rd"},
    {"avenue", "ave", "av"},
    {"lane", "ln"},
    {"drive", "dr", "drv"},
    {"close", "cl"},
    {"court", "ct"},
    {"crescent", "cres", "cresc"},
    {"place", "pl"},
    {"square", "sq"},
    {"gardens", "gdns"},
    {"terrace", "terr", "tce"},
    {"park", "pk"},
    {"grove", "gr", "gro"},
    {"mount", "mt"},
    {"north", "n"},
    {"south", "s"},
    {"east", "e"},
    {"west", "w"},
    {"saint", "st"},
    {"flat", "flt"},
    {"apartment", "apt"},
    {"house", "ho"},
    {"cottage", "cott"},
]
_EQUIVALENT: dict[str, frozenset[str]] = {}
for _group in EQUIVALENT:
    for _word in _group:
        _EQUIVALENT[_word] = frozenset(_EQUIVALENT.get(_word, frozenset()) | _group)

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u00b4": "'", "`": "'"})
_TOKEN = re.compile(r"[^\W_]+")
_ORDINAL = re.compile(r"^(\d+)(?:st|nd|rd|th)$")


# --- Normalising ---------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _fold(char: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)).casefold()


def normalise(text: str) -> tuple[str, list[int]]:
    """The text as matching sees it (no diacritics, case folded, straight apostrophes), and for
    each of its characters the index of the character of `text` it came from."""
    text = text.translate(_APOSTROPHES)
    if text.isascii():
        return text.lower(), list(range(len(text)))
    out: list[str] = []
    where: list[int] = []
    for i, char in enumerate(text):
        folded = _fold(char)
        out.append(folded)
        where.extend([i] * len(folded))
    return "".join(out), where


def tokens(text: str) -> list[str]:
    """A value's tokens, normalised as text is."""
    return _TOKEN.findall(normalise(text)[0])


@dataclass(frozen=True)
class _Token:
    text: str
    start: int  # in the original text
    end: int
    capital: bool  # written with a capital letter first ("Mrs", "J")


def _text_tokens(text: str) -> tuple[list[_Token], list[str]]:
    """The text's tokens with their place in the original, and the gaps between them."""
    folded, where = normalise(text)
    found: list[_Token] = []
    gaps: list[str] = []
    last_end = 0
    for match in _TOKEN.finditer(folded):
        start, end = where[match.start()], where[match.end() - 1] + 1
        if found:
            gaps.append(folded[last_end : match.start()])
        last_end = match.end()
        found.append(_Token(match.group(), start, end, text[start].isupper()))
    return found, gaps


def _joins(gap: str) -> bool:
    """Whether two tokens with `gap` between them can be parts of one value."""
    return 0 < len(gap) <= MAX_GAP and "\n\n" not in gap


# --- Values as slots -------------------------------------------------------------------------------

Slot = frozenset[str]
Variant = tuple[Slot, ...]


class Capital(frozenset):
    """A slot that matches only a word written with a capital ("Mrs", "J"): a title or an
    initial, so "we miss May" and "a brown envelope" are not name context."""


def _slot(token: str, *, abbreviations: bool = False) -> Slot:
    forms = {token} | (_EQUIVALENT.get(token, frozenset()) if abbreviations else set())
    ordinal = _ORDINAL.match(token)
    if ordinal:
        token = ordinal.group(1)
    if token.isdigit():
        number = int(token)
        forms |= {str(number), f"{number:02d}", _ordinal(number)}
    return frozenset(forms)


def _ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def _words(value: str, *, abbreviations: bool = False) -> list[Variant]:
    """A value as a sequence of slots (and, for "O'Brien", also "OBrien"); with
    `abbreviations` (addresses, places) each address word also as its abbreviation."""
    parts = tokens(value)
    if not parts:
        return []
    variants = [tuple(_slot(t, abbreviations=abbreviations) for t in parts)]
    folded = normalise(value)[0]
    if "'" in folded:
        joined = tokens(folded.replace("'", ""))
        if joined and joined != parts:
            variants.append(tuple(_slot(t, abbreviations=abbreviations) for t in joined))
    return variants


def _months(month: int) -> Slot:
    name = calendar.month_name[month].lower()
    return frozenset(name[:n] for n in range(3, len(name) + 1))


def _date_variants(day: datetime.date) -> tuple[list[Variant], set[str]]:
    d = frozenset({str(day.day), f"{day.day:02d}", _ordinal(day.day)})
    m = frozenset({str(day.month), f"{day.month:02d}"})
    y = frozenset({str(day.year), f"{day.year % 100:02d}"})
    y4 = frozenset({str(day.year)})
    words = _months(day.month)
    of = frozenset({"of"})
    variants = [(d, m, y), (y4, m, d), (d, words, y), (d, of, words, y), (words, d, y)]
    compact = {
        f"{day.day:02d}{day.month:02d}{day.year}",
        f"{day.year}{day.month:02d}{day.day:02d}",
        f"{day.day:02d}{day.month:02d}{day.year % 100:02d}",
    }
    return variants, compact


def _phone_forms(value: str) -> set[str]:
    """Every digit string the number may be written as, whatever the spacing or brackets."""
    digits = re.sub(r"\D", "", value)
    forms = {digits} if len(digits) >= 7 else set()
    try:
        number = phonenumbers.parse(value, "GB")
    except phonenumbers.NumberParseException:
        return forms
    national, code = str(number.national_number), str(number.country_code)
    return forms | {
        f"0{national}",
        f"{code}{national}",
        f"00{code}{national}",
        f"{code}0{national}",
        f"00{code}0{national}",
    }


# --- The matcher ---------------------------------------------------------------------------------------


@dataclass
class Matcher:
    """The person's values, ready to find in any text: sequences of slots, compact forms,
    emails, and names. Its size grows with the number of values, never with their
    combinations (the ICO breach report matches thousands of people's values at once)."""

    sequences: dict  # indexed by a token of the first slot, or of the first two (_index)
    compact: set[str]
    emails: re.Pattern | None
    names: dict  # names redacted wherever they appear as words (indexed as sequences)
    common: frozenset[str]  # one-word names that are everyday words: in name context only
    name_tokens: frozenset[str]  # every token of every name (context for a common one)
    titles: frozenset[str]
    initials: frozenset[str]

    def spans(self, text: str) -> list[tuple[int, int]]:
        found, gaps = _text_tokens(text)
        spans = []
        for i, token in enumerate(found):
            for variant in _candidates(self.sequences, found, gaps, i):
                end = _match(found, gaps, i, variant)
                if end is not None:
                    spans.append((token.start, found[end].end))
            if self.compact:
                joined = ""
                for j in range(i, min(i + MAX_COMPACT_TOKENS, len(found))):
                    if j > i and not _joins(gaps[j - 1]):
                        break
                    joined += found[j].text
                    if joined in self.compact:
                        spans.append((token.start, found[j].end))
        spans += self._name_spans(found, gaps)
        if self.emails is not None:
            folded, where = normalise(text)
            for match in self.emails.finditer(folded):
                spans.append((where[match.start()], where[match.end() - 1] + 1))
        return _merge(text, spans)

    def _name_spans(self, found: list[_Token], gaps: list[str]) -> list[tuple[int, int]]:
        """Names: an unusual one wherever it is a word; a common-word one only beside a title,
        an initial or another of the person's names; a title or initial just before a name,
        and names next to each other, go with it as one."""
        hit = [False] * len(found)
        for i in range(len(found)):
            for variant in _candidates(self.names, found, gaps, i):
                end = _match(found, gaps, i, variant)
                if end is not None:
                    hit[i : end + 1] = [True] * (end + 1 - i)

        def joined(i: int, j: int) -> bool:  # tokens i < j adjacent as parts of one name
            return i >= 0 and j < len(found) and _joins(gaps[i])

        def prefix(i: int) -> bool:  # a title or an initial, written with a capital
            t = found[i]
            return t.capital and (t.text in self.titles or (len(t.text) == 1 and t.text in self.initials))

        def named(i: int) -> bool:  # another of the person's names (a common one: with a capital)
            t = found[i]
            return hit[i] or (t.text in self.name_tokens and (t.text not in self.common or t.capital))

        changed = True
        while changed:  # "Jane Rose May": each common name found beside the one before it
            changed = False
            for i, token in enumerate(found):
                if hit[i] or token.text not in self.common:
                    continue
                before = joined(i - 1, i) and (prefix(i - 1) or (token.capital and named(i - 1)))
                after = joined(i, i + 1) and token.capital and named(i + 1) and found[i + 1].text not in self.common
                after = after or (joined(i, i + 1) and token.capital and hit[i + 1])
                if before or after:
                    hit[i] = changed = True
        spans = []
        i = 0
        while i < len(found):
            if not hit[i]:
                i += 1
                continue
            start = i
            while start > 0 and joined(start - 1, start) and prefix(start - 1):
                start -= 1
            end = i
            while end + 1 < len(found) and hit[end + 1] and joined(end, end + 1):
                end += 1
            # "Jane R. May": an initial between two names is part of the name.
            while end + 2 < len(found) and prefix(end + 1) and hit[end + 2] and joined(end, end + 1):
                end += 2
                while end + 1 < len(found) and hit[end + 1] and joined(end, end + 1):
                    end += 1
            spans.append((found[start].start, found[end].end))
            i = end + 1
        return spans


def _match(found: list[_Token], gaps: list[str], i: int, variant: Variant) -> int | None:
    """The index of the last token if `variant` matches the tokens from `i`, else None."""
    if i + len(variant) > len(found):
        return None
    for k, slot in enumerate(variant):
        token = found[i + k]
        if token.text not in slot or (k and not _joins(gaps[i + k - 1])):
            return None
        if isinstance(slot, Capital) and not token.capital:
            return None
    return i + len(variant) - 1


def _merge(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping spans as one, each taking a "+" or "(" just before it."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        while start > 0 and text[start - 1] in _LEADING and text[start].isdigit():
            start -= 1
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def matcher(ids: Identifiers) -> Matcher:
    sequences: list[Variant] = []
    compact: set[str] = set()

    firsts = [v for v in ids.first_names if len(v) >= MIN_NAME_LENGTH]
    lasts = [v for v in ids.last_names if len(v) >= MIN_NAME_LENGTH]
    names: list[Variant] = []
    common: set[str] = set()
    name_tokens: set[str] = set()
    for name in [*firsts, *lasts]:
        for variant in _words(name):
            name_tokens |= {t for slot in variant for t in slot}
            if _is_common(variant):
                common |= variant[0]
            else:
                names.append(variant)
    initials = frozenset(tokens(name)[0][0] for name in firsts if tokens(name))
    titles = frozenset(TITLES | {t for title in ids.titles for t in tokens(title)})

    for value in ids.address_lines:
        if len(value) >= MIN_ADDRESS_LENGTH:
            sequences += _words(value, abbreviations=True)
    for value in [*ids.towns, *ids.counties]:
        if len(value) >= MIN_NAME_LENGTH:
            sequences += _words(value, abbreviations=True)
    for day in ids.dates_of_birth:
        variants, forms = _date_variants(day)
        sequences += variants
        compact |= forms
    for phone in ids.phones:
        compact |= _phone_forms(phone)
    for postcode in ids.postcodes:
        form = "".join(tokens(postcode))
        if len(form) > 3:
            compact.add(form)
        elif form:
            sequences += _words(postcode)

    emails = sorted({normalise(e)[0] for e in ids.emails if e}, key=len, reverse=True)
    pattern = "|".join(re.escape(e) for e in emails)
    return Matcher(
        sequences=_index(sequences),
        compact=compact,
        emails=re.compile(rf"(?<![\w.+\-])(?:{pattern})(?![\w\-]|\.\w)") if emails else None,
        names=_index(names),
        common=frozenset(common & COMMON_WORDS),
        name_tokens=frozenset(name_tokens),
        titles=titles,
        initials=initials,
    )


def _index(variants: list[Variant]) -> dict:
    """Variants by their first token (one-token values) or first two tokens (longer ones), so a
    text token is tried only against values that can start there."""
    index: dict = {}
    for variant in set(variants):
        if len(variant) == 1:
            for first in variant[0]:
                index.setdefault(first, []).append(variant)
        else:
            for first in variant[0]:
                for second in variant[1]:
                    index.setdefault((first, second), []).append(variant)
    return index


def _candidates(index: dict, found: list[_Token], gaps: list[str], i: int) -> list[Variant]:
    one = index.get(found[i].text, [])
    if i + 1 < len(found) and _joins(gaps[i]):
        two = index.get((found[i].text, found[i + 1].text))
        if two:
            return [*one, *two]
    return one


def _is_common(variant: Variant) -> bool:
    """A one-word name that is also an everyday word (see COMMON_WORDS)."""
    return len(variant) == 1 and bool(variant[0] & COMMON_WORDS)


def redactor(ids: Identifiers, *, replacement: str = REDACTED) -> Redact:
    """A function replacing, in a text, every identifying value in `ids` by `replacement`."""
    match = matcher(ids)
    if not (match.sequences or match.compact or match.emails or match.names or match.common):
        return lambda text: text

    def redact(text: str) -> str:
        if not text:
            return text
        spans = match.spans(text)
        if not spans:
            return text
        parts, last = [], 0
        for start, end in spans:
            parts += [text[last:start], replacement]
            last = end
        parts.append(text[last:])
        return "".join(parts)

    return redact


def redactor_for(customer: Customer, *, keep: Iterable[str] = ()) -> Redact:
    """The redactor of every identifier the customer has ever had on record. Values in `keep`
    (e.g. the placeholder name of an erased record) are not identifiers."""
    return redactor(Identifiers.of(customer, keep=keep))


def set_text(row, name: str, value: str) -> bool:
    """Set a text field, cut to its length ("[erased]" may be longer than a short name).
    True if the value changed."""
    limit = row._meta.get_field(name).max_length
    value = value[:limit] if limit and value else value
    if value == getattr(row, name):
        return False
    setattr(row, name, value)
    return True


def redact_rows(rows: Iterable, fields: Iterable[str], redact: Redact) -> list:
    """Redact `fields` on each row in memory; return the rows that changed."""
    changed = []
    for row in rows:
        dirty = False
        for name in fields:
            old = getattr(row, name)
            if old:
                dirty = set_text(row, name, redact(old)) or dirty
        if dirty:
            changed.append(row)
    return changed
