"""Korean text for synthetic lines: Wikipedia prose, frequent words, and the numbers,
prices, dates, phone numbers, addresses and Latin words Korean print is full of.

The text is split once into a training part and a held-out part (every tenth Wikipedia
passage, every tenth word of the word list), so the dev lines and pages are written with
sentences and words the model never trained on.
"""

from __future__ import annotations

import os
import random
from functools import lru_cache
from pathlib import Path

from .text import CORPORA_DIR, price, sentence

HELD_OUT_EVERY = 10

SI_DO = ["서울특별시", "부산광역시", "대구광역시", "인천광역시", "광주광역시", "대전광역시",
         "울산광역시", "세종특별자치시", "경기도", "강원특별자치도", "충청북도", "충청남도",
         "전라북도", "전라남도", "경상북도", "경상남도", "제주특별자치도"]
GU = ["강남구", "서초구", "종로구", "중구", "마포구", "해운대구", "수성구", "연수구", "유성구",
      "분당구", "수원시", "성남시", "고양시", "창원시", "전주시", "청주시", "천안시"]
ROADS = ["테헤란로", "세종대로", "중앙로", "해운대로", "을지로", "강남대로", "도산대로",
         "올림픽로", "한강대로", "충장로", "동성로", "시청로"]
WEEKDAYS = "월화수목금토일"
UNITS = ["원", "개", "명", "km", "m", "kg", "g", "L", "ml", "%", "층", "호", "번", "세", "년",
         "시간", "분", "cm", "㎡", "평", "박", "일"]
LABELS = ["가격", "합계", "총액", "부가세", "전화", "주소", "영업시간", "수량", "금액", "할인",
          "결제", "카드", "현금", "거스름돈", "문의", "이메일", "홈페이지", "팩스", "대표",
          "사업자번호", "일시", "장소", "담당자", "비고", "주문번호"]
DOMAINS = ["co.kr", "or.kr", "go.kr", "ac.kr", "kr", "com", "net"]


@lru_cache(maxsize=1)
def korean_charset():
    """The Korean recognizer's charset: synthetic text keeps only what it can read."""
    from ..languages import get_language
    from ..recognition.charset import Charset

    lang = get_language("ko")
    return Charset(lang.chars, lang.form)


def _corpus_dir() -> Path:
    return Path(os.environ.get("OCRTOOL_CORPORA", CORPORA_DIR))


def _split(items: list[str], held_out: bool) -> list[str]:
    return [x for i, x in enumerate(items) if (i % HELD_OUT_EVERY == HELD_OUT_EVERY - 1)
            == held_out]


@lru_cache(maxsize=2)
def passages(held_out: bool = False) -> list[list[str]]:
    """Wikipedia passages as word lists (training part, or the held-out part)."""
    path = _corpus_dir() / "kowiki.txt"
    if not path.exists():
        return []
    lines = [ln.split() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    return _split(lines, held_out)


@lru_cache(maxsize=2)
def words(held_out: bool = False) -> list[str]:
    """Korean words, most frequent first (training part, or the held-out part)."""
    path = _corpus_dir() / "kor.wordlist"
    if not path.exists():
        return []
    items = [w.strip() for w in path.read_text(encoding="utf-8").splitlines()]
    return _split([w for w in items if w and w.isprintable()], held_out)


def frequent_word(rng: random.Random, held_out: bool = False) -> str:
    """One word of the word list (training part, or the held-out part)."""
    items = words(held_out) or ["한국어"]
    # Zipf-ish: frequent words more often, and the long tail too
    if rng.random() < 0.5:
        return items[min(int(rng.paretovariate(0.6)) - 1, len(items) - 1)]
    return rng.choice(items)


def prose(rng: random.Random, held_out: bool = False) -> str:
    """A run of 1 to 10 words from a Wikipedia passage."""
    texts = passages(held_out)
    if not texts:
        return phrase(rng, held_out)
    p = rng.choice(texts)
    n = rng.randint(1, 10)
    start = rng.randrange(max(len(p) - n, 1))
    return " ".join(p[start:start + n])


def phrase(rng: random.Random, held_out: bool = False) -> str:
    return " ".join(frequent_word(rng, held_out) for _ in range(rng.randint(1, 5)))


def _num(rng: random.Random, lo: int, hi: int) -> str:
    return f"{rng.randint(lo, hi):,}" if rng.random() < 0.8 else str(rng.randint(lo, hi))


def amount(rng: random.Random, held_out: bool = False) -> str:
    """Prices, distances and quantities: '가격: 12,500원', '부산 12.5km', '₩3,000'."""
    r = rng.random()
    value = _num(rng, 100, 999999) if rng.random() < 0.7 else f"{rng.uniform(0, 999):.1f}"
    if r < 0.3:
        return f"{rng.choice(LABELS)}: {_num(rng, 100, 2000000)}원"
    if r < 0.45:
        return f"₩{_num(rng, 100, 500000)}"
    if r < 0.7:
        return f"{frequent_word(rng, held_out)} {value}{rng.choice(UNITS)}"
    return f"{frequent_word(rng, held_out)} {rng.randint(1, 20)} {_num(rng, 500, 90000)}"


def date_time(rng: random.Random) -> str:
    y, m, d = rng.randint(1990, 2030), rng.randint(1, 12), rng.randint(1, 28)
    h, mi = rng.randint(0, 23), rng.randint(0, 59)
    day = rng.choice(WEEKDAYS)
    return rng.choice([
        f"{y}년 {m}월 {d}일", f"{y}.{m:02d}.{d:02d}", f"{y}-{m:02d}-{d:02d} ({day})",
        f"{m}월 {d}일 ({day}) {h:02d}:{mi:02d}", f"오전 {h % 12 + 1}시 {mi}분",
        f"오후 {h % 12 + 1}:{mi:02d}", f"{y}. {m}. {d}.",
        f"영업시간 {h:02d}:00~{(h + 9) % 24:02d}:00",
    ])


def contact(rng: random.Random) -> str:
    """Phone numbers, addresses, web and e-mail addresses in Korean formats."""
    name = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9)))
    r = rng.random()
    if r < 0.3:
        area = rng.choice(["010", "02", "031", "051", "053", "032", "1588", "070"])
        num = f"{area}-{rng.randint(100, 9999)}-{rng.randint(1000, 9999)}"
        return rng.choice([num, f"전화 {num}", f"Tel. {num}", f"☎ {num}",
                           f"({area}) {num[len(area) + 1:]}"])
    if r < 0.6:
        addr = f"{rng.choice(SI_DO)} {rng.choice(GU)} {rng.choice(ROADS)} {rng.randint(1, 999)}"
        if rng.random() < 0.5:
            addr += f", {rng.randint(1, 30)}층"
        return addr
    if r < 0.85:
        return rng.choice([f"www.{name}.{rng.choice(DOMAINS)}", f"https://{name}.{rng.choice(DOMAINS)}",
                           f"http://www.{name}.{rng.choice(DOMAINS)}/{rng.randint(1, 999)}"])
    return f"{name}@{rng.choice(['naver.com', 'daum.net', 'gmail.com', 'korea.kr'])}"


def mixed(rng: random.Random, held_out: bool = False) -> str:
    """Korean words with Latin words, brand names or a price among them."""
    parts = [frequent_word(rng, held_out) for _ in range(rng.randint(1, 4))]
    latin = sentence(rng) if rng.random() < 0.6 else price(rng)
    parts.insert(rng.randint(0, len(parts)), latin)
    return " ".join(parts)


def punctuated(rng: random.Random, held_out: bool = False) -> str:
    text = prose(rng, held_out)
    q = rng.choice(["「」", "『』", "“”", "‘’", "()", "[]", "<>", "※ ", "· ", "■ ", "▶ ", "○ "])
    return q[0] + text + q[1:] if len(q) == 2 and q[1] != " " else q + text


GENERATORS = [  # (generator, weight)
    (prose, 0.42), (phrase, 0.16), (amount, 0.1), (date_time, 0.06), (contact, 0.1),
    (mixed, 0.1), (punctuated, 0.06),
]


def korean_text(rng: random.Random, held_out: bool = False, max_chars: int = 24) -> str:
    """One line of Korean text from a weighted mix of generators, capped at max_chars."""
    gens, weights = zip(*GENERATORS)
    gen = rng.choices(gens, weights=weights)[0]
    text = gen(rng) if gen in (date_time, contact) else gen(rng, held_out)
    text = " ".join(text.split())[:max_chars].strip()
    return text or "한국어"
