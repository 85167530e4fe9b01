"""Bytes to text: byte-order marks, UTF-8, GBK/GB18030 and Big5 scored against frequent characters,
UTF-16 without a mark, EUC-KR, then charset detection; binary data is refused."""

from __future__ import annotations

import codecs
import contextlib
import re
from functools import lru_cache

from qa.documents.base import Unreadable

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: its BOM starts with UTF-16 LE's
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Tried before general detection: short GBK/Big5 texts are where detectors guess wrong.
_CHINESE_ENCODINGS = ("gb18030", "cp950", "big5hkscs")
_CHINESE_MIN_SCORE = 0.6
_CHINESE_OVER_UTF8 = 0.9  # bytes that are valid UTF-8 as well need a clearer case
_HANZI = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_CJK_CHAR = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\U00020000-\U0003ffff]")
_SCORE_SAMPLE = 4000  # non-ASCII characters looked at when scoring a decoding
# Punctuation and symbols Chinese text uses: they count for a decoding, like frequent characters.
_CJK_NEUTRAL = ((0x2010, 0x205E), (0x2460, 0x24FF), (0x25A0, 0x25FF), (0x3000, 0x303F), (0xFF01, 0xFF5E))


def decode(data: bytes) -> str:
    """Decode bytes as text: BOMs first, then UTF-8, then Chinese encodings, then charset detection.

    Raises ``Unreadable`` for empty, binary or undecodable data. Line ends come back as ``\\n``.
    """
    if not data:
        raise Unreadable("empty file")
    for bom, enc in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(enc)
            except UnicodeDecodeError as e:
                raise Unreadable(f"not valid {enc.removesuffix('-sig').upper()} despite its byte-order mark") from e
            return _checked(text)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = _detect(data)
    else:
        if "\x00" in text:  # ASCII text in UTF-16 is valid UTF-8 too, with a zero in every other byte
            text = _utf16_without_bom(data) or text
        elif not text.isascii() and _odd_utf8(text):
            # a few GBK characters can form valid UTF-8 too ("为时" reads as "Ϊʱ")
            text = _chinese(data, _CHINESE_OVER_UTF8, min_hanzi=2) or text
    return _checked(text)


def _checked(text: str) -> str:
    if "\x00" in text or _control_ratio(text) > 0.05:
        raise Unreadable("binary file, not text")
    return _clean(text)


def _detect(data: bytes) -> str:
    if b"\x00" in data[:4096]:
        text = _utf16_without_bom(data)
        if text is None:
            raise Unreadable("binary file, not text")
        return text
    if _control_ratio(data[:8192].decode("latin-1")) > 0.05:
        raise Unreadable("binary file, not text")
    if _looks_korean(data):
        return data.decode("cp949")
    text = _chinese(data)
    if text is not None:
        return text
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise Unreadable("unknown text encoding: save the file as UTF-8")
    return str(best)


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 text without a byte-order mark: mostly-ASCII text has a zero in every other byte."""
    if len(data) < 4 or len(data) % 2:
        return None
    sample = data[:4096]
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    half = len(sample) // 2
    if odd >= 0.3 * half and even == 0:
        enc = "utf-16-le"
    elif even >= 0.3 * half and odd == 0:
        enc = "utf-16-be"
    else:
        return None
    try:
        text = data.decode(enc)
    except UnicodeDecodeError:
        return None
    return None if "\x00" in text or _control_ratio(text) > 0.05 else text


@lru_cache(maxsize=1)
def _common_hanzi() -> tuple[frozenset[str], frozenset[str]]:
    """The frequent Chinese characters: GB2312 level 1 (simplified), Big5 level 1 (traditional)."""
    simplified: set[str] = set()
    traditional: set[str] = set()
    for lead in range(0xB0, 0xD8):
        for trail in range(0xA1, 0xFF):
            with contextlib.suppress(UnicodeDecodeError):
                simplified.add(bytes((lead, trail)).decode("gb2312"))
    for code in range(0xA440, 0xC67F):
        lead, trail = divmod(code, 256)
        if 0x40 <= trail <= 0x7E or 0xA1 <= trail <= 0xFE:
            with contextlib.suppress(UnicodeDecodeError):
                traditional.add(bytes((lead, trail)).decode("big5"))
    return frozenset(simplified), frozenset(traditional)


def _chinese_score(text: str, encoding: str) -> tuple[float, float]:
    """How much of the non-ASCII text is frequent Chinese characters and CJK punctuation.

    Returns (share of frequent characters of either kind, the same share counting frequent
    characters of the other kind half): the first says whether it reads as Chinese at all, the
    second which decoding reads better, since the wrong one of GBK and Big5 often gives frequent
    characters too, but a mix of simplified and traditional ones.
    """
    simplified, traditional = _common_hanzi()
    native, other = (simplified, traditional) if encoding == "gb18030" else (traditional, simplified)
    n = hits = weighted = 0.0
    for ch in text:
        o = ord(ch)
        if o < 128:
            continue
        n += 1
        if ch in native or ch in "“”‘’…—·" or any(lo <= o <= hi for lo, hi in _CJK_NEUTRAL):
            hits += 1
            weighted += 1
        elif ch in other:
            hits += 1
            weighted += 0.5
        if n >= _SCORE_SAMPLE:
            break
    return (hits / n, weighted / n) if n else (0.0, 0.0)


# The most frequent Hangul syllables: they make up much of any Korean text, and little of Chinese
# bytes read as EUC-KR (which GB2312 bytes are, too).
_FREQUENT_HANGUL = frozenset(
    "이다는의에을를하고서가지기한로리사수대도인있것시자들으어게나구정보전해장부국주아과니여일동러요라우"
    "세소성제적습학람중문만면후그저내말원없같안녕까지했던되었위상경회연계개발은입스트용음분실간관"
)


def _looks_korean(data: bytes) -> bool:
    """EUC-KR Hangul is valid GB2312 as well: Korean if it reads as Hangul with Korean's usual syllables."""
    try:
        text = data.decode("cp949")
    except UnicodeDecodeError:
        return False
    hangul = [ch for ch in text[:20000] if "\uac00" <= ch <= "\ud7a3"]
    if not hangul or len(hangul) < 0.9 * sum(1 for ch in text[:20000] if ord(ch) > 127):
        return False
    frequent = sum(ch in _FREQUENT_HANGUL for ch in hangul)
    return frequent >= 3 and frequent >= 0.35 * len(hangul)


def _odd_utf8(text: str) -> bool:
    """True for UTF-8 text no one writes: no Chinese, but letters of two scripts, or stray marks."""
    import unicodedata

    scripts: set[str] = set()
    seen = 0
    for ch in text:
        if ch.isascii():
            continue
        if _CJK_CHAR.match(ch):
            return False
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Co", "Lm"):  # C1 controls, private use, modifier letters
            return True
        if cat.startswith("L"):
            scripts.add(unicodedata.name(ch, "?").split(" ")[0])
        seen += 1
        if seen >= _SCORE_SAMPLE:
            break
    return len(scripts) > 1


def _chinese(data: bytes, min_score: float = _CHINESE_MIN_SCORE, min_hanzi: int = 0) -> str | None:
    """The Chinese decoding of ``data`` if it is valid in one and reads as Chinese, else None."""
    best: tuple[float, str] | None = None
    for enc in _CHINESE_ENCODINGS:
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if min_hanzi and len(_HANZI.findall(text, 0, 4 * min_hanzi + 64)) < min_hanzi:
            continue
        share, score = _chinese_score(text, enc)
        if share >= min_score and (best is None or score > best[0]):
            best = (score, text)
    if best is None or _looks_korean(data):
        return None
    return best[1]


def _control_ratio(text: str) -> float:
    sample = text[:8192]
    if not sample:
        return 0.0
    bad = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\n\r\t\f")
    return bad / len(sample)


def _clean(text: str) -> str:
    # Offsets are defined on text with normalized line ends, so a CRLF file cites like an LF one.
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
