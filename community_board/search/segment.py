"""Text to the terms the search index holds, and a query to the terms a matching document must hold.

The index holds, for every maximal run of Chinese (Han) characters, each overlapping pair of
characters (停水 → 停水; 暂停水电 → 暂停 停水 水电) and the run's last character alone (电); for
every run of other letters or digits, the whole run, lower case (WiFi → wifi, 5号楼 → 5 号楼 楼).
A query is cut the same way into a phrase, terms that must stand one after another: a Chinese run
of two or more characters gives its pairs, a single Chinese character at the end a prefix term
(水* matches 水管 and the run-final 水 of 喝水), a run of letters or digits itself, matched whole. So
every document that contains the query text holds its phrase, whatever a dictionary would have made
of the text; ``services.search`` then checks the text itself.

jieba is kept for one thing: the meaningful words of a title being typed (``title_words``), for
"these posts may be the same problem"; it is loaded on first use.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Han script: CJK Unified Ideographs, Extension A, compatibility ideographs, the supplementary
# planes' extensions, and 〇.
HAN = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
# At each Han character: the pair it starts, or itself when it ends its run (group 1); or a whole
# run of letters and digits that are not Han (group 2). "_" is not a letter: both full-text
# tokenizers split on it.
_TERM = re.compile(f"(?=([{HAN}][{HAN}]?))[{HAN}]|([^\\W_{HAN}]+)")
_RUN = re.compile(f"([{HAN}]+)|[^\\W_{HAN}]+")


@dataclass(frozen=True)
class Term:
    """A word the index must hold, or with ``prefix`` any indexed word that starts with it."""

    text: str
    prefix: bool = False


def normalize(text: str) -> str:
    """Full-width to half-width, lower case: ＷｉＦｉ and wifi match."""
    return unicodedata.normalize("NFKC", text).lower()


def index_words(text: str) -> list[str]:
    """The words the index holds for ``text``: Han pairs and run-final characters, other runs whole."""
    return [pair or run for pair, run in _TERM.findall(normalize(text))]


def query_words(text: str) -> list[Term]:
    """The terms a document that contains ``text`` holds one after another (a phrase): each Han run's
    pairs, and its last character too where the query goes on after it (the document's run ends
    there as well); a last run of one Han character as a prefix; other runs whole."""
    runs = list(_RUN.finditer(normalize(text)))
    terms: list[Term] = []
    for number, match in enumerate(runs, 1):
        run, last = match.group(), number == len(runs)
        if match.group(1) is None:
            terms.append(Term(run))
            continue
        terms.extend(Term(run[i : i + 2]) for i in range(len(run) - 1))
        if len(run) == 1 or not last:
            terms.append(Term(run[-1], prefix=last))
    return terms


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def title_words(text: str) -> list[str]:
    """The meaningful words (two characters or more) jieba finds in a title, each once."""
    words: list[str] = []
    for word in _jieba().cut(normalize(text)):
        word = word.strip()
        if len(word) >= 2 and _RUN.search(word) and word not in words:
            words.append(word)
    return words
