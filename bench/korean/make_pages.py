"""Korean dev pages for issue 17 (4b): realistic pages drawn WITHOUT ocrtool's renderer.

    python bench/korean/make_pages.py [--out data/ko_pages_dev] [--pages 25] [--seed 17]

Each page is an HTML document (receipt, form, news article, application screenshot, shop
notice) rendered by headless Chromium at 1 CSS px = 1 image px, in one of the installed
Korean fonts, with text from the HELD-OUT tenth of ../shared/data/text_corpora
(`ocrtool.synth.korean.passages(held_out=True)` / `words(held_out=True)`) plus Korean
prices, dates, phone numbers, addresses and URLs. The recognizer never trained on these
sentences, these fonts' HTML shaping, or these layouts.

Every visual text line is one `white-space: nowrap` block, so the ground truth is exact.
Its pieces (an item and its price, a label and its value, toolbar buttons) are spans;
Chromium reports each span's box in a first run (`--dump-dom` after a script wrote the
boxes into the page), and a second run takes the screenshot at the same width.

Writes into --out, for each page NAME: NAME.png, NAME.txt (one line per visual line, top to
bottom, pieces joined by one space: the samples/README.md convention), NAME.html, and one
gt.jsonl for all pages in the shared JSON-lines page format. One region per visual line;
pieces on a line that stand further apart than 1.2 times their font size (a price column,
a form's value column, toolbar buttons) are separate regions, as a line detector splits
them (ocrtool's gap rule: ~1.2 text heights); each region carries its line number as
`"line"`. Layouts keep such gaps clearly above or below that limit. Deterministic for a
seed (up to the Chromium and font versions). Needs `chromium` and the Debian font packages
fonts-noto-cjk, fonts-nanum, fonts-unfonts-core and fonts-baekmuk (Baekmuk is one of the
families synth/fonts.py keeps out of Korean training: its pages also test unseen fonts).
"""

from __future__ import annotations

import argparse
import html
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from ocrtool.synth import korean

ROOT = Path(__file__).resolve().parents[2]
KINDS = ("receipt", "form", "article", "screen", "notice")
SPLIT_GAP = 1.2  # pieces of a line further apart than this many font sizes: separate regions
SANS = ["Noto Sans CJK KR", "NanumGothic", "NanumBarunGothic", "UnDotum", "Baekmuk Gulim",
        "NanumSquare"]
SERIF = ["Noto Serif CJK KR", "NanumMyeongjo", "UnBatang", "Baekmuk Batang"]
MONO = ["Noto Sans Mono CJK KR", "NanumGothicCoding", "Baekmuk Gulim", "UnDotum"]
SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍"
GIVEN = "민서지현우준영수진하은도윤주원성혜경태호연석재희승아"
CHROMIUM_FLAGS = [
    "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
    "--force-device-scale-factor=1", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# Chromium writes each line's span boxes into the page; --dump-dom prints them.
MEASURE_JS = """
<script>
document.fonts.ready.then(() => {
  const page = document.querySelector('.page').getBoundingClientRect();
  const lines = [];
  for (const ln of document.querySelectorAll('.ln')) {
    const spans = [...ln.querySelectorAll('.pc')].map(s => {
      const r = s.getBoundingClientRect();
      return [r.left, r.top, r.right, r.bottom, parseFloat(getComputedStyle(s).fontSize)]; });
    const c = ln.getBoundingClientRect();
    lines.push({i: +ln.dataset.i, spans: spans, box: [c.left, c.top, c.right, c.bottom]});
  }
  const out = document.createElement('pre');
  out.id = 'measured';
  out.textContent = JSON.stringify({width: page.width, height: page.bottom, lines: lines});
  document.body.appendChild(out);
});
</script>
"""


# ------------------------------------------------------------------------------ text


@lru_cache(maxsize=1)
def _charset():
    return korean.korean_charset()


def readable(text: str) -> bool:
    """True if the Korean recognizer's charset can spell `text` exactly (NFC)."""
    return _charset().canonical(text) == unicodedata.normalize("NFC", text)


def clean(text: str) -> str:
    """Text as the charset reads it back: the page shows exactly what the labels say."""
    return _charset().canonical(text)


def has_hangul(text: str) -> bool:
    return any("\uac00" <= c <= "\ud7a3" for c in text)


# True: the held-out tenth of the text (dev pages); False: the training text, for
# validation pages that settings can be chosen on (--text training)
HELD_OUT = {"text": True}


@lru_cache(maxsize=1)
def held_out_words() -> list[str]:
    items = [w for w in korean.words(held_out=HELD_OUT["text"])
             if has_hangul(w) and len(w) >= 2 and "&" not in w and readable(w)]
    if not items:
        sys.exit("error: no held-out Korean words (is ../shared/data/text_corpora there? "
                 "set OCRTOOL_CORPORA)")
    return items


@lru_cache(maxsize=1)
def held_out_passages() -> list[list[str]]:
    """Held-out Wikipedia passages, keeping the words the charset can spell."""
    out = []
    for p in korean.passages(held_out=HELD_OUT["text"]):
        ws = [w for w in p if readable(w) and "formula" not in w and "&" not in w and len(w) <= 14]
        if len(ws) > 50:
            out.append(ws)
    if not out:
        sys.exit("error: no held-out Korean passages (kowiki.txt missing?)")
    return out


def em_width(text: str) -> float:
    """A generous width estimate in em, so nowrap lines stay inside the page."""
    w = 0.0
    for c in text:
        if "\uac00" <= c <= "\ud7a3" or unicodedata.east_asian_width(c) in "WF":
            w += 1.0
        elif c == " ":
            w += 0.33
        elif c.isupper() or c.isdigit() or c in "@%&₩":
            w += 0.68
        else:
            w += 0.58
    return w


def word(rng: random.Random, frequent: bool = False) -> str:
    items = held_out_words()
    return rng.choice(items[:400] if frequent else items[:4000])


def words_text(rng: random.Random, lo: int, hi: int) -> str:
    return " ".join(word(rng, rng.random() < 0.5) for _ in range(rng.randint(lo, hi)))


def person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(2))


def prose_lines(rng: random.Random, n: int, max_em: float) -> list[str]:
    """n consecutive lines of one held-out passage, each filled up to max_em wide."""
    p = rng.choice(held_out_passages())
    pos = rng.randrange(max(1, len(p) - 40 * n))
    out = []
    for _ in range(n):
        line: list[str] = []
        while pos < len(p) and em_width(" ".join([*line, p[pos]])) <= max_em:
            line.append(p[pos])
            pos += 1
        if not line:  # one word wider than the line: skip it
            pos += 1
            continue
        out.append(" ".join(line))
    return out


def price(rng: random.Random, lo: int = 500, hi: int = 90000, step: int = 100) -> str:
    return f"{rng.randrange(lo, hi, step):,}원"


def phone(rng: random.Random) -> str:
    area = rng.choice(["010", "02", "031", "051", "053", "032", "070"])
    return f"{area}-{rng.randint(200, 9999)}-{rng.randint(1000, 9999)}"


def latin_name(rng: random.Random) -> str:
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(4, 9)))


def url(rng: random.Random) -> str:
    name = latin_name(rng)
    return rng.choice([f"www.{name}.co.kr", f"https://{name}.kr", f"www.{name}.or.kr",
                       f"{name}.com", f"https://www.{name}.co.kr/event"])


def address(rng: random.Random) -> str:
    return (f"{rng.choice(korean.SI_DO)} {rng.choice(korean.GU)} "
            f"{rng.choice(korean.ROADS)} {rng.randint(1, 400)}")


def date(rng: random.Random) -> tuple[int, int, int]:
    return rng.randint(2019, 2026), rng.randint(1, 12), rng.randint(1, 28)


# ------------------------------------------------------------------------------ pages


@dataclass
class Page:
    """One page being built: its lines (pieces of text) and its HTML."""

    name: str
    index: int
    width: int
    trims: dict[int, int]
    lines: list[list[str]] = field(default_factory=list)

    def font(self, families: list[str]) -> str:
        """Pages of one kind take turns through the families (each kind from its own
        start), so a kind's pages use different fonts."""
        start = sum(map(ord, self.name.rsplit("_", 1)[-1]))
        return families[(self.index // len(KINDS) + start) % len(families)]

    def line(self, *pieces: str, cls: str = "", style: str = "") -> str:
        """One visual text line (nowrap block); several pieces are spread across it."""
        i = len(self.lines)
        kept = [clean(p) for p in pieces if clean(p)]
        drop = self.trims.get(i, 0)
        if drop:  # the line overflowed the page in an earlier try: shorten its longest piece
            j = max(range(len(kept)), key=lambda k: em_width(kept[k]))
            ws = kept[j].split()
            kept[j] = " ".join(ws[:max(1, len(ws) - drop)])
        self.lines.append(kept)
        spans = "".join(f'<span class="pc">{html.escape(p)}</span>' for p in kept)
        spread = " spread" if len(kept) > 1 else ""
        return (f'<div class="ln{spread} {cls}" data-i="{i}" style="{style}">{spans}</div>')


def document(page: Page, css: str, body: str, bg: str) -> str:
    return f"""<!doctype html>
<html lang="ko"><head><meta charset="utf-8"><style>
html, body {{ margin: 0; padding: 0; background: {bg}; overflow: hidden; }}
.page {{ width: {page.width}px; box-sizing: border-box; }}
.ln {{ white-space: nowrap; overflow: visible; }}
.ln.spread {{ display: flex; justify-content: space-between; gap: 32px; }}
.pc {{ white-space: nowrap; }}
{css}
</style></head><body><div class="page">
{body}
</div>{MEASURE_JS}</body></html>
"""


def receipt(rng: random.Random, page: Page) -> str:
    font = page.font(MONO + ["NanumGothic", "Noto Sans CJK KR"])
    size = rng.choice([14, 15, 16, 17, 18])
    page.width = rng.choice([380, 400, 420, 440])
    avail = (page.width - 48) / size
    L = page.line
    y, m, d = date(rng)
    shop = words_text(rng, 1, 2) + rng.choice([" 마트", " 편의점", " 베이커리", " 식당", " 약국"])
    body = [L(shop, cls="title")]
    biz = f"{rng.randint(100, 999)}-{rng.randint(10, 99)}-{rng.randint(10000, 99999)}"
    body.append(L(f"사업자번호: {biz}"))
    body.append(L(f"대표: {person(rng)}"))
    body.append(L(address(rng)))
    body.append(L(f"전화 {phone(rng)}"))
    body.append(L(f"{y}-{m:02d}-{d:02d} {rng.randint(8, 22):02d}:{rng.randint(0, 59):02d}",
                  f"POS {rng.randint(1, 9):02d}"))
    body.append('<div class="rule"></div>')
    body.append(L("상품명", "수량", "금액", cls="head"))
    total = 0
    for _ in range(rng.randint(5, 9)):
        name = words_text(rng, 1, 2)
        while em_width(name) > avail * 0.55:
            name = word(rng)
        qty, unit = rng.randint(1, 4), rng.randrange(500, 30000, 100)
        total += qty * unit
        body.append(L(name, str(qty), f"{qty * unit:,}"))
    body.append('<div class="rule"></div>')
    vat = round(total / 11)
    body.append(L("공급가액", f"{total - vat:,}"))
    body.append(L("부가세", f"{vat:,}"))
    body.append(L("합계", f"{total:,}원", cls="big"))
    if rng.random() < 0.6:
        body.append(L(f"{rng.choice(['신한', '국민', '삼성', '현대', '롯데'])}카드", f"{total:,}"))
        body.append(L(f"승인번호: {rng.randint(10000000, 99999999)}"))
    else:
        paid = (total // 10000 + 1) * 10000
        body.append(L("현금", f"{paid:,}"))
        body.append(L("거스름돈", f"{paid - total:,}"))
    body.append('<div class="rule"></div>')
    body.append(L(rng.choice(["감사합니다", "또 오세요", "교환 및 환불은 7일 이내"]), cls="center"))
    body.append(L(url(rng), cls="center"))
    css = f"""
.page {{ padding: 24px; font: {size}px '{font}'; color: #1c1c1c; background: #fdfcf8;
        line-height: 1.5; }}
.title {{ font-size: {size + 6}px; font-weight: bold; text-align: center; width: max-content;
         margin: 0 auto 6px; }}
.center {{ width: max-content; margin: 0 auto; }}
.big {{ font-weight: bold; font-size: {size + 2}px; }}
.head {{ font-weight: bold; }}
.rule {{ border-top: 1px dashed #555; margin: 6px 0; }}
"""
    return document(page, css, "\n".join(body), "#fdfcf8")


def form(rng: random.Random, page: Page) -> str:
    font = page.font(SERIF + SANS)
    size = rng.choice([15, 16, 17, 18])
    page.width = rng.choice([820, 860, 900])
    avail = (page.width - 96) / size
    L = page.line
    y, m, d = date(rng)
    title = word(rng) + rng.choice([" 신청서", " 참가 신청서", " 등록 신청서", " 이용 신청서"])
    body = [L(title, cls="title"), '<div class="fields">']
    fields = [("성명", person(rng)), ("생년월일", f"{rng.randint(1950, 2005)}년 {m}월 {d}일"),
              ("연락처", phone(rng)), ("주소", address(rng)),
              ("이메일", f"{latin_name(rng)}@naver.com"),
              ("신청일", f"{y}. {m}. {d}.")]
    for label, value in rng.sample(fields, rng.randint(4, 6)):
        body.append(f'<div class="frow">{L(label, value, cls="field")}</div>')
    body.append("</div>")
    body.append(L(rng.choice(["신청 내용", "유의 사항", "개인정보 수집 및 이용 안내"]), cls="h2"))
    for text in prose_lines(rng, rng.randint(3, 5), avail * 0.9):
        body.append(L(text))
    body.append('<div class="checks">')
    for _ in range(rng.randint(2, 3)):
        body.append(L("□ " + words_text(rng, 2, 4)))
    body.append("</div>")
    body.append(L(f"{y}년 {m}월 {d}일", cls="right"))
    body.append(L(f"신청인: {person(rng)} (서명)", cls="right"))
    css = f"""
.page {{ padding: 40px 48px; font: {size}px '{font}'; color: #202020; background: #ffffff;
        line-height: 1.6; }}
.title {{ font-size: {size + 9}px; font-weight: bold; text-align: center; width: max-content;
         margin: 0 auto 18px; }}
.fields {{ border: 1px solid #888; margin-bottom: 16px; }}
.frow {{ border-bottom: 1px solid #bbb; padding: 4px 10px; }}
.field.spread {{ justify-content: flex-start; gap: {rng.choice([12, 64, 96])}px; }}
.h2 {{ font-weight: bold; font-size: {size + 2}px; margin: 10px 0 4px; }}
.checks {{ margin: 10px 0 16px; }}
.right {{ width: max-content; margin-left: auto; }}
"""
    return document(page, css, "\n".join(body), "#ffffff")


def article(rng: random.Random, page: Page) -> str:
    font = page.font(SERIF + ["NanumGothic", "Noto Sans CJK KR"])
    size = rng.choice([15, 16, 17, 18, 19])
    page.width = rng.choice([760, 820, 880])
    avail = (page.width - 80) / size
    L = page.line
    y, m, d = date(rng)
    title_size = rng.choice([24, 26, 28])
    head = prose_lines(rng, 1, (page.width - 80) / title_size * 0.85)[0]
    body = [L(rng.choice(["사회", "경제", "문화", "국제", "과학", "지역"]) + " > "
              + rng.choice(["종합", "일반", "이슈"]), cls="section"), L(head, cls="headline")]
    body.append(L(words_text(rng, 3, 6), cls="sub"))
    body.append(L(f"{person(rng)} 기자", f"입력 {y}.{m:02d}.{d:02d} {rng.randint(6, 23):02d}:"
                  f"{rng.randint(0, 59):02d}", cls="byline"))
    for _ in range(rng.randint(2, 3)):
        body.append('<div class="para">')
        for text in prose_lines(rng, rng.randint(3, 5), avail * 0.92):
            body.append(L(text))
        body.append("</div>")
    body.append(L(f"문의 {phone(rng)} / {url(rng)}", cls="foot"))
    css = f"""
.page {{ padding: 32px 40px; font: {size}px '{font}'; color: #191919; background: #fbfbf9;
        line-height: 1.7; }}
.section {{ color: #2b5aa8; font-size: 14px; }}
.headline {{ font-size: {title_size}px; font-weight: bold; line-height: 1.35; margin: 6px 0; }}
.sub {{ font-size: {size + 1}px; color: #444; margin-bottom: 8px; }}
.byline {{ font-size: 14px; color: #555; border-bottom: 1px solid #ccc; padding-bottom: 8px;
          margin-bottom: 12px; }}
.para {{ margin-bottom: 12px; }}
.foot {{ font-size: 14px; color: #555; border-top: 1px solid #ccc; padding-top: 8px; }}
"""
    return document(page, css, "\n".join(body), "#fbfbf9")


def screen(rng: random.Random, page: Page) -> str:
    font = page.font(SANS)
    size = rng.choice([14, 15, 16])
    page.width = rng.choice([900, 960, 1000])
    avail = (page.width - 64) / size
    L = page.line
    bar = rng.choice(["#1f3b73", "#2d6a4f", "#5b2a86", "#263238"])
    app = word(rng) + rng.choice([" 관리자", " 매니저", " 센터", " 앱"])
    body = [f'<div class="bar">{L(app, "로그인", "회원가입", "고객센터")}</div>']
    body.append(f'<div class="menu">{L("홈", "알림", "설정", "도움말", word(rng))}</div>')
    body.append('<div class="main">')
    body.append(f'<div class="search">{L(words_text(rng, 1, 3) + " 검색")}</div>')
    body.append(L(words_text(rng, 2, 4), cls="h1"))
    body.append('<div class="list">')
    for _ in range(rng.randint(4, 6)):
        y, m, d = date(rng)
        item = prose_lines(rng, 1, avail * rng.uniform(0.3, 0.6))[0]
        body.append(f'<div class="item">{L(item, f"{y}.{m:02d}.{d:02d}")}</div>')
    body.append("</div>")
    body.append(f'<div class="warn">{L("※ " + words_text(rng, 3, 6))}</div>')
    for label in ("사용자 이름", "이메일", "전화번호"):
        value = {"사용자 이름": person(rng), "전화번호": phone(rng),
                 "이메일": f"{latin_name(rng)}{rng.randint(1, 99)}@daum.net"}[label]
        body.append(f'<div class="row">{L(label, value)}</div>')
    body.append(f'<div class="btns">{L("저장", "취소", word(rng) + " 보기")}</div>')
    body.append("</div>")
    version = f"버전 {rng.randint(1, 5)}.{rng.randint(0, 9)}.{rng.randint(0, 20)}"
    body.append(f'<div class="status">{L("준비됨", version)}</div>')
    css = f"""
.page {{ font: {size}px '{font}'; color: #222; background: #f5f6f8; line-height: 1.45; }}
.bar {{ background: {bar}; color: #fff; padding: 12px 32px; font-size: {size + 4}px;
       font-weight: bold; }}
.menu {{ background: #e4e7ec; padding: 6px 32px; }}
.menu .ln.spread {{ justify-content: flex-start; gap: 36px; }}
.main {{ padding: 16px 32px; }}
.search {{ border: 1px solid #aab; background: #fff; padding: 6px 12px; width: 50%;
          color: #666; margin-bottom: 14px; }}
.h1 {{ font-size: {size + 8}px; font-weight: bold; margin-bottom: 10px; }}
.item {{ background: #fff; border: 1px solid #dde; padding: 8px 12px; margin-bottom: 6px; }}
.warn {{ background: #fff4c2; border: 1px solid #e0c050; padding: 8px 12px; margin: 12px 0; }}
.row {{ padding: 6px 0; border-bottom: 1px solid #dde; width: 60%; }}
.btns {{ margin-top: 14px; width: 50%; }}
.btns .ln.spread {{ justify-content: flex-start; gap: 32px; }}
.status {{ background: #dfe3e8; padding: 4px 32px; font-size: 14px; }}
"""
    return document(page, css, "\n".join(body), "#f5f6f8")


def notice(rng: random.Random, page: Page) -> str:
    font = page.font(SERIF[::-1] + SANS)
    size = rng.choice([18, 19, 20, 22])
    page.width = rng.choice([720, 780, 840])
    avail = (page.width - 96) / size
    L = page.line
    banner = rng.choice(["#b3261e", "#1b5e20", "#0d47a1", "#e65100", "#37474f"])
    y, m, d = date(rng)
    title = rng.choice(["안내", "공지", "알림", "휴무 안내", "영업시간 변경 안내"])
    body = [f'<div class="banner">{L(title, cls="big")}</div>']
    body.append('<div class="body">')
    body.append(L(f"{y}년 {m}월 {d}일부터 {word(rng)} {word(rng)}", cls="lead"))
    for text in prose_lines(rng, rng.randint(2, 3), avail * 0.9):
        body.append(L(text))
    body.append('<div class="box">')
    for _ in range(rng.randint(3, 4)):
        item = words_text(rng, 1, 2)
        while em_width(item) > avail * 0.3:
            item = word(rng)
        body.append(L(item, price(rng, 1500, 60000)))
    body.append("</div>")
    body.append(L(f"영업시간 {rng.randint(7, 11):02d}:00~{rng.randint(18, 23):02d}:00 "
                  f"({rng.choice('월화수목금토일')}요일 휴무)"))
    body.append(L(f"{korean.contact(rng)}" if rng.random() < 0.3 else f"문의: {phone(rng)}"))
    body.append(L(f"{word(rng)} {rng.uniform(0.5, 30):.1f}km / {url(rng)}"))
    body.append(L(f"※ {words_text(rng, 2, 5)}", cls="small"))
    body.append(L(f"{words_text(rng, 1, 2)} 드림", cls="right"))
    body.append("</div>")
    css = f"""
.page {{ font: {size}px '{font}'; color: #1d1d1d; background: #fffdf6; line-height: 1.6; }}
.banner {{ background: {banner}; color: #fff; padding: 14px 48px; }}
.big {{ font-size: 28px; font-weight: bold; }}
.body {{ padding: 24px 48px 32px; }}
.lead {{ font-weight: bold; margin-bottom: 8px; }}
.box {{ border: 2px solid {banner}; padding: 8px 18px; margin: 14px 0; width: 60%; }}
.small {{ font-size: 16px; color: #444; }}
.right {{ width: max-content; margin-left: auto; margin-top: 12px; }}
"""
    return document(page, css, "\n".join(body), "#fffdf6")


BUILDERS: dict[str, Callable[[random.Random, Page], str]] = {
    "receipt": receipt, "form": form, "article": article, "screen": screen, "notice": notice,
}


# ------------------------------------------------------------------------------ render


def chromium_binary() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        sys.exit("error: chromium not found (apt-get install chromium)")
    return exe


def chromium(args: list[str], tmp: Path) -> str:
    profile = tempfile.mkdtemp(dir=tmp)
    cmd = ["nice", "-n", "10", chromium_binary(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
           *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    return proc.stdout


def measure(html_path: Path, width: int, tmp: Path) -> dict:
    dom = chromium([f"--window-size={width},4000", "--virtual-time-budget=5000", "--dump-dom",
                    html_path.as_uri()], tmp)
    found = re.search(r'<pre id="measured">(.*?)</pre>', dom, re.S)
    if not found:
        raise RuntimeError(f"{html_path.name}: Chromium printed no measurements")
    return json.loads(html.unescape(found.group(1)))


def overflowing(measured: dict, width: int) -> list[int]:
    """Lines whose text runs past the page edge (or overlaps its neighbour piece)."""
    bad = []
    for ln in measured["lines"]:
        spans = ln["spans"]
        past_edge = any(s[2] > width - 4 or s[0] < 0 for s in spans)
        crowded = any(a[2] > b[0] - 8 for a, b in zip(spans, spans[1:]))
        past_box = bool(spans) and spans[-1][2] > ln["box"][2] + 1
        if past_edge or crowded or past_box:
            bad.append(ln["i"])
    return bad


def regions(measured: dict, lines: list[list[str]]) -> list[dict]:
    """One region per visual line; far-apart pieces of a line are regions of their own."""
    out = []
    for ln in sorted(measured["lines"], key=lambda r: r["i"]):
        pieces, spans = lines[ln["i"]], ln["spans"]
        groups: list[tuple[list[str], list[list[float]]]] = []
        for text, box in zip(pieces, spans):
            if groups and box[0] - groups[-1][1][-1][2] < SPLIT_GAP * box[4]:
                groups[-1][0].append(text)
                groups[-1][1].append(box)
            else:
                groups.append(([text], [box]))
        for texts, boxes in groups:
            x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
            x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
            pts = [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]
            out.append({"points": [[round(x, 1), round(y, 1)] for x, y in pts],
                        "text": " ".join(texts), "line": ln["i"]})
    return out


def make_page(index: int, kind: str, seed: int, out: Path, tmp: Path) -> dict:
    """Build, measure and screenshot one page; shorten overflowing lines and retry."""
    name = f"ko_{index:02d}_{kind}"
    trims: dict[int, int] = {}
    for _ in range(4):
        rng = random.Random(f"{seed}-{index}-{kind}")
        page = Page(name, index, 800, trims)
        doc = BUILDERS[kind](rng, page)
        html_path = out / f"{name}.html"
        html_path.write_text(doc, encoding="utf-8")
        measured = measure(html_path, page.width, tmp)
        bad = overflowing(measured, page.width)
        if not bad:
            break
        for i in bad:
            trims[i] = trims.get(i, 0) + 1
    else:
        raise RuntimeError(f"{name}: lines {bad} still overflow the page")
    height = int(round(measured["height"]))
    png = out / f"{name}.png"
    chromium([f"--window-size={page.width},{height}", "--virtual-time-budget=5000",
              f"--screenshot={png}", html_path.as_uri()], tmp)
    if not png.exists() or png.stat().st_size == 0:
        raise RuntimeError(f"{name}: Chromium wrote no screenshot")
    from PIL import Image

    with Image.open(png) as im:
        size = im.size
    if size != (page.width, height):
        raise RuntimeError(f"{name}: screenshot is {size}, expected {(page.width, height)}")
    text = "\n".join(" ".join(p) for p in page.lines if p) + "\n"
    (out / f"{name}.txt").write_text(text, encoding="utf-8")
    return {"image": png.name, "width": page.width, "height": height,
            "regions": regions(measured, page.lines), "kind": kind}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "data" / "ko_pages_dev")
    ap.add_argument("--pages", type=int, default=25, help="number of pages (kinds take turns)")
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--jobs", type=int, default=2, help="Chromium runs at once")
    ap.add_argument("--text", choices=("held-out", "training"), default="held-out",
                    help="held-out: the dev pages' text; training: the training text, for "
                         "validation pages (e.g. --text training --seed 5 --pages 12 --out "
                         "data/ko_pages_val)")
    args = ap.parse_args(argv)
    HELD_OUT["text"] = args.text == "held-out"
    if args.pages < 1:
        ap.error("--pages must be at least 1")
    args.out = args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    held_out_words(), held_out_passages()  # fail early, before any Chromium run
    jobs = [(i, KINDS[i % len(KINDS)]) for i in range(args.pages)]
    with tempfile.TemporaryDirectory(prefix="ko_pages_") as tmp, \
            ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        rows = list(pool.map(lambda j: make_page(j[0], j[1], args.seed, args.out, Path(tmp)), jobs))
    with open(args.out / "gt.jsonl", "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    n_lines = sum(len((args.out / r["image"]).with_suffix(".txt").read_text().splitlines())
                  for r in rows)
    kinds = {k: sum(r["kind"] == k for r in rows) for k in KINDS}
    print(f"wrote {len(rows)} pages ({kinds}), {n_lines} text lines, "
          f"{sum(len(r['regions']) for r in rows)} regions to {args.out}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(main())
