"""Character classes and regular expressions shared by the signal families.

The punctuation sets are copied from datatrove 0.10.1 (``datatrove/utils/text.py``,
Apache-2.0) so that "symbol word", "terminal punctuation" and "stop character" mean
exactly what they mean in the reference filters. Patterns are Rust-regex syntax
(polars): no look-around, so context is handled by the callers.
"""

from __future__ import annotations

import re

# datatrove PUNCTUATION + the C0/C1 control characters it appends (tab and newline excluded).
PUNCTUATION = "!/—”:％１〈&(、━\\【#%「」，】；+^]~“《„';’{|∶´[=-`*．（–？！：$～«〉,><》)?）。…@_.\"}►»" + "".join(
    map(chr, (x for a, b in ((0, 9), (11, 13), (13, 32), (127, 160)) for x in range(a, b)))
)

# datatrove TERMINAL_PUNCTUATION (FineWeb's default stop characters).
TERMINAL_PUNCTUATION = frozenset(
    "᪩？⁈𑩂．꩞𑅃﹗𑂾\u1b7d፧𑅂꡶꘎⁉࠾᪨𑊩𑱂᱿𖩮᥅\U00011f43\U00011f44﹒𑈹𑈸።܂؞꛳\U00010f88𑗍𐩖𑙂\u061d꩟᠉\u1b7e𑗗᰼𑻸؟𑪜꧉𑗉𐽙𖫵𖬷܀꓿᜵𑗏𑁇𑗓𑥄៖𑥆𑗑𑗒꯫۔𐩗"
    "\U00010f86꡷\u2e54｡៕߹⸮.𑇅࠹𛲟꫰꤯𐽗᭞𑜼፨𑃁꣏𑇟𖬸𑪛𑜾࠷𝪈?𑃀𑗃！։꣎॥𑗖᭛᠃!၊𖺘⁇𑗌𑑋𖭄᭟𑅁𑙁⸼꩝𑗋。꧈꫱𑜽𐽖𑂿᙮។꛷\U00010f89៚᥄𑗕𑗎᪪᭚࠽𑇞𑗊𐽘"
    "\u2e53𑗔𖩯𑇍𑻷𐽕𑩃।𑗂𑇆𑁈။᱾𑱁꘏܁᜶‼𑈻‽᪫﹖𑑌𑈼\U00010f87𑗐៙᰻"
)

PUNCTUATION_SET = frozenset(PUNCTUATION) | TERMINAL_PUNCTUATION


def char_class(chars) -> str:
    """A Rust-regex character class body matching exactly ``chars``."""
    out = []
    for ch in sorted(set(chars)):
        cp = ord(ch)
        if ch.isalnum() and cp < 128:
            out.append(ch)
        else:
            out.append(f"\\x{{{cp:X}}}")
    return "".join(out)


PUNCT_CLASS = char_class(PUNCTUATION_SET)
TERMINAL_CLASS = char_class(TERMINAL_PUNCTUATION)

#: a token containing any of these is a "non-symbol word" (Gopher)
NON_SYMBOL = f"[^{PUNCT_CLASS}]"

# spaCy's Sentencizer punctuation (its default_punct_chars), used to count sentences (C4).
SENTENCE_PUNCT = (
    "!.?։؟۔܀܁܂߹।॥၊။።፧፨᙮᜵᜶᠃᠉᥄᥅᪨᪩᪪᪫᭚᭛᭞᭟᰻᰼᱾᱿‼‽⁇⁈⁉⸮⸼꓿꘎꘏꛳꛷꡶꡷꣎꣏꤯꧈꧉꩝꩞꩟꫰꫱꯫﹒﹖﹗！．？"
    "𐩖𐩗𑁇𑁈𑂾𑂿𑃀𑃁𑅁𑅂𑅃𑇅𑇆𑇍𑇞𑇟𑈸𑈹𑈻𑈼𑊩𑑋𑑌𑗂𑗃𑗉𑗊𑗋𑗌𑗍𑗎𑗏𑗐𑗑𑗒𑗓𑗔𑗕𑗖𑗗𑙁𑙂𑜼𑜽𑜾𑩂𑩃𑪛𑪜𑱁𑱂𖩮𖩯𖫵𖬷𖬸𖭄𛲟𝪈｡。"
)
SENTENCE_CLASS = char_class(SENTENCE_PUNCT)

#: scripts written without spaces between words: one character = one word
CJK = r"\p{Han}\p{Hiragana}\p{Katakana}ー々〆〇"

#: line breaks of Python's str.splitlines() other than "\n" (CRLF counts once)
OTHER_LINE_BREAKS = r"\r\n|[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]"

# Python's str.isspace() characters, for strip()/split() semantics.
PY_SPACE = char_class(ch for ch in map(chr, range(0x3001)) if ch.isspace())

# Word tokens: a vectorized approximation of the spaCy English tokenizer that
# datatrove 0.10.1 uses for every Gopher/FineWeb word count (``split_into_words``
# -> ``spacy.blank("en")``). spaCy splits on whitespace, then peels "prefix"
# characters off the front of each chunk and "suffix" characters off its end, and
# splits the rest only at a few "infixes" (hyphen or slash between letters, comma
# between letters, "..." ...). Without look-behind we do it in two steps:
# ``INFIX`` inserts spaces at the infixes (URLs are matched first and kept whole),
# then ``TOKEN`` takes, leftmost first: a URL, an ellipsis, a known abbreviation,
# a contraction ("'s", "'t"), one CJK character, a "core" (a run of non-space
# characters that starts with a non-prefix and ends with a non-suffix character,
# so "foo(3" and "--verbose" stay whole), or any other single character.
_LIST_PUNCT = "…,:;!?¿؟¡()[]{}<>_#*&。？！，、；：～·।،۔؛٪"
_QUOTES = "'\"”“`‘´’‚,„»«「」『』（）〔〕【】《》〈〉⟦⟧"
_CURRENCY = "$£€¥฿₽﷼₴₠₡₢₣₤₥₦₧₨₩₪₫₭₮₯₰₱₲₳₵₶₷₸₹₺₻₼₾₿"
_ICONS = r"\u00A6\u00A9\u00AE\u00B0\u2100-\u214F\u2190-\u21FF\u2300-\u23FF\u2400-\u244A\u2500-\u27BF\u2800-\u28FF\u2B00-\u2BFF\U0001F000-\U0001FAFF"
_PREFIX = char_class("§%=—–" + _LIST_PUNCT + _QUOTES + _CURRENCY) + _ICONS
_SUFFIX = char_class("—–.%" + _LIST_PUNCT + _QUOTES) + _ICONS
_CJK_SET = f"[{CJK}]"
_CORE_FIRST = rf"[^\s{_PREFIX}'’{CJK}]"
_CORE_LAST = rf"[^\s{_SUFFIX}'’{CJK}]"
_CORE_MID = rf"[^\s{CJK}]"
_ABBREV = (
    r"(?-u:\b)(?:(?i:e\.g|i\.e|a\.m|p\.m|v\.s)\.|(?:Mr|Mrs|Ms|Dr|vs|St|Mt|Jr|Inc|Ltd|Co|co|Corp|Prof|Rev|Gen|Gov|Sen|Rep"
    r"|Bros|Adm|Messrs|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|Ph\.D)\.|(?:\p{Lu}\.){2,}|\p{Lu}\.|[a-zäöü]\.)(?-u:\B)"
)
# spaCy's special cases made only of punctuation (emoticons, "''"), longest first
_EMOTICONS = sorted(
    [
        "''",
        "(-:",
        "(-;",
        "(:",
        "(;",
        "(=",
        ")-:",
        "):",
        ":'(",
        ":')",
        ":(",
        ":((",
        ":)",
        ":))",
        ":*",
        ":-(",
        ":-)",
        ":-*",
        ":-/",
        ":->",
        ":-]",
        ":-|",
        ":/",
        ":>",
        ":]",
        ":|",
        ";)",
        ";-)",
        "=(",
        "=)",
        "=/",
        "=[",
        "=]",
        "=|",
        ">:(",
        "[-:",
        "[:",
        "[=",
        "]=",
        "’’",
        "8)",
        "8-)",
        "w/o",
        "and/or",
    ],
    key=len,
    reverse=True,
)
_EMOTICON = "|".join(re.escape(e) for e in _EMOTICONS)
_URL = r"(?:https?|ftp)://"
TOKEN = (
    rf"{_URL}\S*[^\s{_SUFFIX}]"
    r"|\.\.+|…"
    rf"|{_ABBREV}"
    r"|(?i:n['’]t)(?-u:\b)|['’](?i:t|s|re|ve|ll|d|m)(?-u:\b)"
    rf"|{_EMOTICON}"
    rf"|{_CJK_SET}"
    rf"|{_CORE_FIRST}{_CORE_MID}*{_CORE_LAST}|[^\s{_PREFIX}{_SUFFIX}'’{CJK}]"
    r"|\S"
)
_AL = r"[\p{L}--[" + CJK + r"]]"
_ALNUM = r"[\p{L}\p{N}--[" + CJK + r"]]"
#: spaCy's infixes, with a URL branch first so URLs are left alone (they get two trailing spaces)
INFIX = (
    rf"(?P<u>{_URL}\S+|[A-Za-z0-9_.+\-]+@[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)+|and/or|w/o)"
    r"|(?-u:\b)(?P<k>[Cc]a|[Dd]o|[Dd]oes|[Dd]id|[Ii]s|[Aa]re|[Ww]as|[Ww]ere|[Hh]as|[Hh]ave|[Hh]ad|[Ww]o|[Cc]ould|[Ww]ould"
    r"|[Ss]hould|[Mm]ust|[Mm]ight|[Nn]eed|[Ss]ha|[Aa]i)(?P<l>n['’]t)(?-u:\b)"
    r"|(?-u:\b)(?P<m>[Cc]an)(?P<n>not)(?-u:\b)|(?P<o>\p{L})(?P<q>['’](?i:s|re|ve|ll|d|m))(?-u:\b)"
    rf"|(?P<a>{_ALNUM})(?P<s>---|--|——|[-–—~:<>=/])(?P<b>{_AL})"
    r"|(?P<c>[0-9])(?P<t>[+\-*^])(?P<d>[0-9\-])"
    rf"|(?P<e>{_AL})(?P<v>,)(?P<f>{_AL})"
    r"|(?P<g>\p{Ll})(?P<w>\.)(?P<h>\p{Lu})"
    r"|(?P<i>[^\s.…])(?P<x>\.\.+|…)(?P<j>[^\s.…])"
)
#: spaCy's German and Portuguese rules keep a word with one hyphen inside whole ("Debian-Paket"),
#: where its English rules split it: the same infixes without the single hyphen
INFIX_KEEP_HYPHEN = INFIX.replace("|[-–—~:<>=/])", "|[–—~:<>=/])")
#: the languages whose tokens keep inner hyphens (``INFIX_KEEP_HYPHEN``)
HYPHEN_WORD_LANGUAGES = ("de", "pt")
INFIX_REPLACE = "${u}${k}${m}${o}${a}${c}${e}${g}${i} ${s}${t}${v}${w}${x} ${l}${n}${q}${b}${d}${f}${h}${j}"
