"""Traditional and simplified Chinese fold together for deduplication.

The same page published in traditional characters (Taiwan, Hong Kong) and simplified ones
(mainland) is one document twice. OpenCC's ``t2s`` character table (bundled in the ``opencc``
wheel, nothing downloaded) maps each traditional character to its simplified form; dedup
hashes a character through that map, so the two versions share their content hash and their
shingles. Only one-to-one character mappings are used: phrase-level conversions, which OpenCC
also does, would make a token depend on its neighbours.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

#: the CJK ideograph blocks: URO, extension A, compatibility ideographs, extensions B to F
RANGES = ((0x3400, 0x4DC0), (0x4E00, 0xA000), (0xF900, 0xFB00), (0x20000, 0x2EBF0))


@lru_cache(maxsize=1)
def traditional_to_simplified() -> tuple[np.ndarray, np.ndarray]:
    """(traditional code points, their simplified code points), for every character OpenCC changes."""
    import opencc

    cps = np.concatenate([np.arange(a, b) for a, b in RANGES])
    chars = [chr(c) for c in cps]
    converted = opencc.OpenCC("t2s").convert("\n".join(chars)).split("\n")
    if len(converted) != len(chars):  # never seen: a converter that joins lines
        raise RuntimeError("opencc t2s changed the number of lines; cannot build the character map")
    pairs = [(ord(a), ord(b)) for a, b in zip(chars, converted) if len(b) == 1 and a != b]
    src = np.array([a for a, _ in pairs], dtype=np.int64)
    dst = np.array([b for _, b in pairs], dtype=np.int64)
    return src, dst
