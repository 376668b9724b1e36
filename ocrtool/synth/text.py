"""Text sources for synthetic data: frequency-weighted English words and document strings.

Documents are full of things no word list has (prices, dates, codes, e-mails); a recognizer
that never saw them reads them badly, so each sample draws one of several generators.
"""

from __future__ import annotations

import itertools
import os
import random
import string
from functools import lru_cache
from pathlib import Path

CURRENCIES = ["$", "€", "£", "RM", "USD ", "EUR ", ""]
TLDS = ["com", "org", "net", "io", "co.uk", "de", "my", "edu"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
RECEIPT_WORDS = [
    "TOTAL",
    "SUBTOTAL",
    "CASH",
    "CHANGE",
    "GST",
    "TAX",
    "QTY",
    "AMOUNT",
    "INVOICE",
    "RECEIPT",
    "DATE",
    "TIME",
    "ITEM",
    "PRICE",
    "DISCOUNT",
    "ROUNDING",
    "BALANCE",
    "TEL",
    "FAX",
    "NO",
    "SDN",
    "BHD",
    "JALAN",
    "TAMAN",
    "CASHIER",
    "VISA",
    "MASTERCARD",
    "THANK",
    "YOU",
    "PLEASE",
]


# Word stems kept out of generated text: contact sheets and demos are read by people,
# and a recognizer loses nothing by not seeing them.
RUDE_STEMS = (
    "fuck",
    "shit",
    "bitch",
    "cunt",
    "nigg",
    "fag",
    "whore",
    "slut",
    "pussy",
    "cock",
    "dick",
    "asshole",
    "bastard",
    "retard",
    "rape",
    "porn",
    "twat",
    "wank",
    "tits",
)


def _is_rude(word: str) -> bool:
    w = word.lower()
    return any(w.startswith(s) or s in w and len(s) >= 5 for s in RUDE_STEMS)


@lru_cache(maxsize=1)
def _vocabulary() -> tuple[list[str], list[float]]:
    """Top English words with their frequencies (wordfreq when installed, else a fallback)."""
    try:
        from wordfreq import top_n_list, word_frequency

        words = [w for w in top_n_list("en", 30000) if w.isprintable() and not _is_rude(w)]
        freqs = [word_frequency(w, "en") ** 0.5 for w in words]  # flatten the Zipf head a bit
        return words, freqs
    except ImportError:
        words = [w.lower() for w in RECEIPT_WORDS] + list(string.ascii_lowercase)
        return words, [1.0] * len(words)


@lru_cache(maxsize=1)
def _cumulative() -> tuple[list[str], list[float]]:
    """Cumulative weights, computed once: passing `weights=` to rng.choices re-sums all
    30k of them on every call (about 1 ms), and draws the same values as `cum_weights=`."""
    words, freqs = _vocabulary()
    return words, list(itertools.accumulate(freqs))


def vocabulary() -> list[str]:
    """The word list (loaded once per process; call early to share it with forked workers)."""
    return _cumulative()[0]


def _words(rng: random.Random, n: int) -> list[str]:
    words, cum = _cumulative()
    return rng.choices(words, cum_weights=cum, k=n)


def _case(rng: random.Random, text: str) -> str:
    r = rng.random()
    if r < 0.25:
        return text.upper()
    if r < 0.45:
        return text.title()
    if r < 0.55:
        return text[:1].upper() + text[1:]
    return text


def sentence(rng: random.Random) -> str:
    text = " ".join(_words(rng, rng.randint(1, 7)))
    if rng.random() < 0.3:
        text += rng.choice([".", ",", ":", ";", "!", "?", "...", " -", ")"])
    if rng.random() < 0.1:
        q = rng.choice(['""', "“”", "‘’", "''", "()", "[]"])
        text = q[0] + text + q[1]
    text = _case(rng, text)
    if rng.random() < 0.04:  # a brand name or a copyright line, as on web graphics
        mark = rng.choice("®®©")
        text = f"{mark} {text}" if mark == "©" and rng.random() < 0.5 else text + mark
    return text


def number(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.3:
        return str(rng.randint(0, 10 ** rng.randint(1, 7)))
    if kind < 0.6:
        return f"{rng.uniform(0, 10 ** rng.randint(1, 5)):,.2f}"
    if kind < 0.8:
        return f"{rng.uniform(0, 100):.{rng.randint(0, 2)}f}%"
    return f"{rng.randint(1, 99)} x {rng.uniform(0, 500):.2f}"


def price(rng: random.Random) -> str:
    value = f"{rng.uniform(0, 10 ** rng.randint(1, 4)):,.2f}"
    cur = rng.choice(CURRENCIES)
    if rng.random() < 0.2:
        return f"{value} {cur.strip() or 'RM'}"
    return f"{cur}{value}"


def date_time(rng: random.Random) -> str:
    d, m, y = rng.randint(1, 31), rng.randint(1, 12), rng.randint(1990, 2030)
    fmt = rng.choice(
        [
            f"{d:02d}/{m:02d}/{y}",
            f"{y}-{m:02d}-{d:02d}",
            f"{d:02d}-{m:02d}-{y % 100:02d}",
            f"{d} {MONTHS[m - 1]} {y}",
            f"{MONTHS[m - 1]} {d}, {y}",
            f"{d:02d}.{m:02d}.{y}",
        ]
    )
    if rng.random() < 0.4:
        hh, mm, ss = rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)
        fmt += rng.choice(
            [
                f" {hh:02d}:{mm:02d}",
                f" {hh:02d}:{mm:02d}:{ss:02d}",
                f" {hh % 12 + 1}:{mm:02d} {rng.choice(['AM', 'PM'])}",
            ]
        )
    return fmt


def code(rng: random.Random) -> str:
    alnum = string.ascii_uppercase + string.digits
    kind = rng.random()
    if kind < 0.3:
        return (
            rng.choice(["INV", "NO", "REF", "ID", "#", "ORDER", "Doc No"])
            + rng.choice([": ", " ", "-", "#"])
            + "".join(rng.choices(alnum, k=rng.randint(4, 12)))
        )
    if kind < 0.6:
        return f"+{rng.randint(1, 99)} {rng.randint(10, 999)} {rng.randint(1000, 9999999)}"
    if kind < 0.8:
        return f"{rng.randint(0, 99):02d}-{rng.randint(100, 9999)} {rng.randint(1000, 9999)}"
    return "".join(rng.choices(alnum + "-/", k=rng.randint(5, 16)))


def email_url(rng: random.Random) -> str:
    w = [x for x in _words(rng, 3) if x.isalpha()] or ["info"]
    if rng.random() < 0.5:
        return (
            f"{w[0]}{rng.choice(['.', '_', ''])}{w[-1]}@{w[min(1, len(w) - 1)]}.{rng.choice(TLDS)}"
        )
    path = "/".join(w[1:])
    return f"{rng.choice(['https://', 'http://', 'www.', ''])}{w[0]}.{rng.choice(TLDS)}/{path}"


# share of synthetic receipt lines not in capitals: shops also print "Thank you",
# "Subtotal". With every receipt line in capitals, the synthetic data and SROIE (whose
# case-free labels cannot correct it) taught the BiLSTM that receipt words are capitals:
# "Thank you for shopping" in DejaVu Sans read "THANK YOU foR SHOPPING" (session 24).
RECEIPT_MIXED_CASE = 0.35


def receipt_line(rng: random.Random) -> str:
    left = " ".join(rng.choice(RECEIPT_WORDS) for _ in range(rng.randint(1, 3)))
    if rng.random() < 0.5:
        left = " ".join(_words(rng, rng.randint(1, 3))).upper()
    if rng.random() < RECEIPT_MIXED_CASE:
        left = rng.choice([left.title(), left.lower(), left[:1] + left[1:].lower()])
    return f"{left}{' ' * rng.randint(1, 3)}{rng.choice([price(rng), number(rng), ''])}".strip()


def symbols(rng: random.Random) -> str:
    pool = string.punctuation + "€£°‘’“”–—®©" + string.ascii_letters + string.digits
    return "".join(rng.choices(pool, k=rng.randint(1, 12)))


# Marks of typeset print (books, papers) that plain text writes in ASCII: typesetters turn
# ' into ’, quotes into “ ” ‘ ’, a range's hyphen into an en dash and a pause into an em
# dash, and text taken from typeset PDFs (DocBank's labels) keeps them. The synthetic text
# wrote them only around whole lines, so the recognizer learnt that every apostrophe and
# dash inside a line is ASCII: v0.6 read "don’t" as "don't" and "1353–1363" as "1353-1363"
# in every serif and sans face tried (session 28).
TYPESET_MARKS = "’‘“”–—"
JOURNALS = ["J.", "Phys.", "Rev.", "Lett.", "Math.", "Ann.", "Proc.", "Trans.", "Comput.",
            "Appl.", "Stat.", "Theor.", "Syst.", "Nucl.", "Astrophys.", "Comm.", "Amer.", "Soc."]


def typeset_quotes(text: str) -> str:
    """ASCII apostrophes as a typesetter sets them (’)."""
    return text.replace("'", "’")


def page_range(rng: random.Random) -> str:
    """First and last page joined by an en dash."""
    first = rng.randint(1, 2000)
    return f"{first}–{first + rng.randint(1, 60)}"


def number_range(rng: random.Random) -> str:
    """A range as print sets it, with an en dash: pages, years, sections, percentages."""
    kind = rng.randrange(5)
    if kind == 0:
        return page_range(rng) if rng.random() < 0.5 else f"pp. {page_range(rng)}"
    if kind == 1:
        return f"{rng.randint(1900, 2025)}–{rng.randint(0, 99):02d}"
    if kind == 2:
        return f"{rng.randint(1900, 2000)}–{rng.randint(2001, 2025)}"
    first = rng.randint(1, 9)
    if kind == 3:
        what = rng.choice(["Sections", "Figs.", "Eqs.", "Chapters", "Tables"])
        return f"{what} {first}–{first + rng.randint(1, 4)}"
    return f"({first * 10}–{first * 10 + rng.randint(1, 30)}%)"


def reference(rng: random.Random) -> str:
    """A piece of a bibliography entry: initials and surnames, or a journal, volume and
    page range."""
    if rng.random() < 0.5:
        names = [f"{rng.choice(string.ascii_uppercase)}. {_words(rng, 1)[0].title()}"
                 for _ in range(rng.randint(1, 3))]
        text = ", ".join(names[:-1]) + (" and " if len(names) > 1 else "") + names[-1]
        return f"[{rng.randint(1, 60)}] {text}," if rng.random() < 0.4 else text + ","
    journal = " ".join(rng.sample(JOURNALS, rng.randint(1, 3)))
    vol = f"{rng.randint(1, 120)}" + (f"({rng.randint(1, 12)})" if rng.random() < 0.5 else "")
    return f"{journal} {vol}{rng.choice([':', ', '])}{page_range(rng)}, {rng.randint(1950, 2025)}."


def typeset_sentence(rng: random.Random) -> str:
    """Running text with quotes and dashes between clauses (apostrophes still ASCII)."""
    words = _words(rng, rng.randint(2, 8))
    if rng.random() < 0.3:  # a possessive
        i = rng.randrange(len(words))
        words[i] += "'s" if not words[i].endswith("s") else "'"
    text = " ".join(words)
    if rng.random() < 0.35:
        more = " ".join(_words(rng, rng.randint(1, 4)))
        text += rng.choice(["—", " — ", " – "]) + more
    if rng.random() < 0.6:
        text = text[:1].upper() + text[1:]
    text += rng.choice(["", "", ".", ",", ";", "?", ":"])
    if rng.random() < 0.4:  # a quotation, often opened or closed on another line
        q = rng.choice(["“”", "“”", "‘’"])
        text = rng.choice([q[0] + text + q[1], q[0] + text, text + q[1]])
    return text


def typeset_text(rng: random.Random) -> str:
    """A line of book or paper print with `TYPESET_MARKS`: running text, a range or a
    reference."""
    kind = rng.random()
    if kind < 0.6:
        text = typeset_sentence(rng)
    elif kind < 0.8:
        text = f"{' '.join(_words(rng, rng.randint(0, 3)))} {number_range(rng)}".strip()
    else:
        text = reference(rng)
    return typeset_quotes(text)


# Greek letters and the signs of inline mathematics as papers print them: DocBank pages
# hold one in 4-6% of their words (− most of all), none of them in the default charset.
# Only characters NFKC keeps (the charset normalises: the micro sign µ is read as μ).
GREEK = "αβγδεζηθικλμνξπρστυφχψωΓΔΘΛΞΠΣΦΨΩ"
MATH_SIGNS = "−×·±∓≤≥≠≈≡∼∝∈∉⊂⊆∩∪∂∇∞∑∏∫√→←↔⇒〈〉†‡∗"
MATH_SYMBOLS = GREEK + MATH_SIGNS


def math_symbols_missing(chars: str) -> str:
    """The `MATH_SYMBOLS` a charset of `chars` lacks, in their order: what a model (or LM)
    that learns mathematics adds to its alphabet."""
    return "".join(c for c in MATH_SYMBOLS if c not in chars)


def _math_term(rng: random.Random) -> str:
    """A variable (Latin or Greek, maybe with an index written inline as DocBank's text
    has it: "x1", "ggμν") or a number (a negative one with the minus sign, not "-")."""
    if rng.random() < 0.3:
        value = rng.choice(["0", "1", "2", "1/2", "0.5", "10",
                            f"{rng.uniform(0, 99):.{rng.randint(1, 3)}f}"])
        return ("−" if rng.random() < 0.3 else "") + value
    name = rng.choice(GREEK) if rng.random() < 0.6 else rng.choice(string.ascii_letters)
    if rng.random() < 0.3:
        name += rng.choice(["0", "1", "2", "i", "j", "k", "n", rng.choice(GREEK)])
    return name


def math_expression(rng: random.Random) -> str:
    """An inline formula: terms joined by operators, sometimes in brackets, a derivative, a
    set membership or a power of ten."""
    kind = rng.random()
    if kind < 0.15:
        return f"∂{_math_term(rng)}/∂{rng.choice('txyzr' + GREEK[:8])}"
    if kind < 0.25:
        return f"{rng.uniform(1, 9.9):.{rng.randint(1, 2)}f} × 10−{rng.randint(1, 12)}"
    if kind < 0.35:
        return f"{_math_term(rng)} {rng.choice('∈∉⊂⊆')} {rng.choice(GREEK[-7:] + 'RNZC')}"
    terms = [_math_term(rng) for _ in range(rng.randint(2, 4))]
    text = terms[0]
    for term in terms[1:]:
        text += rng.choice([" = ", " − ", " + ", " × ", "·", " ≤ ", " ≥ ", " ≈ ", " ∼ ", " → ",
                            " ≡ ", "/", " = "]) + term
    if rng.random() < 0.25:
        opening, closing = rng.choice(["()", "()", "[]", "〈〉", "||"])
        text = opening + text + closing
    if rng.random() < 0.15:
        text = rng.choice(["√", "∑", "∫", "∇·", "∏"]) + text
    return text


def math_text(rng: random.Random) -> str:
    """A line of a paper with inline mathematics: words around a formula ("where α = 0.5
    and x ∈ Ω"), a displayed formula with its number ("(2.16)"), or a footnote mark."""
    kind = rng.random()
    if kind < 0.5:
        words = " ".join(_words(rng, rng.randint(1, 5)))
        text = f"{words} {math_expression(rng)}"
        if rng.random() < 0.5:
            text += f" {rng.choice(['and', 'for', 'with', 'where', 'if'])} {math_expression(rng)}"
        return text + rng.choice(["", ",", ".", ";"])
    if kind < 0.85:
        text = math_expression(rng)
        if rng.random() < 0.6:
            text += f"{'.' if rng.random() < 0.3 else ','} ({rng.randint(1, 9)}"
            text += f".{rng.randint(1, 40)})" if rng.random() < 0.5 else f"{rng.randint(0, 9)})"
        return text
    return f"{rng.choice('†‡∗')}{' '.join(_words(rng, rng.randint(2, 6)))}"


GENERATORS = [
    (sentence, 0.40),
    (receipt_line, 0.16),
    (number, 0.08),
    (price, 0.07),
    (date_time, 0.07),
    (code, 0.08),
    (email_url, 0.05),
    (symbols, 0.05),
    (lambda rng: rng.choice(string.printable[:94] + "€£°®©"), 0.02),
    (lambda rng: " ".join(sentence(rng) for _ in range(3)), 0.02),
]


CORPORA_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "text_corpora"
LATIN_LANGUAGES = ("fra", "deu", "spa", "por", "ita", "pol")


@lru_cache(maxsize=8)
def _wordlist(lang: str, top: int = 30000) -> list[str]:
    """The language's most frequent words (empty when the corpora are not beside us)."""
    path = Path(os.environ.get("OCRTOOL_CORPORA", CORPORA_DIR)) / f"{lang}.wordlist"
    if not path.exists():
        return []
    with open(path, encoding="utf-8") as f:
        words = [w.strip() for w, _ in zip(f, range(top))]
    return [w for w in words if w and w.isprintable() and not _is_rude(w)]


def foreign_text(rng: random.Random) -> str:
    """A short phrase in French, German, Spanish, Portuguese, Italian or Polish, with that
    language's accented letters; plain random text when the word lists are missing."""
    words = _wordlist(rng.choice(LATIN_LANGUAGES))
    if not words:
        return random_text(rng)
    # Zipf-ish: frequent words more often, but the tail (where accents live) too
    picks = [words[min(int(rng.paretovariate(0.6)) - 1, len(words) - 1)]
             if rng.random() < 0.5 else rng.choice(words) for _ in range(rng.randint(1, 6))]
    text = " ".join(picks)
    if rng.random() < 0.25:
        text += rng.choice([".", ",", ":", ";", "!", "?", " »", "…"])
    if rng.random() < 0.06:
        text = rng.choice(["« ", "„", "¿", "¡", "‚"]) + text
    return _case(rng, text)


def random_text(rng: random.Random, max_chars: int = 60) -> str:
    """One line of text from a weighted mix of generators, capped at max_chars."""
    gens, weights = zip(*GENERATORS)
    text = rng.choices(gens, weights=weights)[0](rng)
    text = " ".join(text.split())[:max_chars].strip()
    return text or "0"
