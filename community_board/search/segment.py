"""The one segmentation function: text to the words the search index holds.

jieba (pure Python) today; rjieba is a drop-in for speed when seeding millions of posts.
"""
from __future__ import annotations

import logging
import re
import unicodedata
from functools import lru_cache

_WORD = re.compile(r"\w", re.UNICODE)


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def normalize(text: str) -> str:
    """Full-width to half-width, lower case: ＷｉＦｉ and wifi match."""
    return unicodedata.normalize("NFKC", text).lower()


def index_words(text: str) -> list[str]:
    """Every word and sub-word of ``text`` (search mode), for the index."""
    return [w for w in _jieba().cut_for_search(normalize(text)) if _WORD.search(w)]


def query_words(text: str) -> list[str]:
    """The words of a query (precise mode); each must be in a matching document."""
    words = []
    for word in _jieba().cut(normalize(text)):
        word = word.strip()
        if word and _WORD.search(word) and word not in words:
            words.append(word)
    return words
