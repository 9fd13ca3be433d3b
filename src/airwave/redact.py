"""PII redaction on a normalised copy of a channel's words, mapped back to the original words. Pure.

Detection runs over one channel's segments in time order as one stream, so a card number spoken across two
segments is still found. Normalising turns "four one one one" / "4-1-1-1" / "4111" into single digits and
"john dot smith at example dot com" into an address; hits are mapped back to whole words of the original segments,
which are replaced by a tag like [CREDIT_CARD]. Segment timings are kept.
"""

from __future__ import annotations

import re
from typing import Any

DIGIT_WORDS: dict[str, str | None] = {
    "zero": "0",
    "oh": "0",
    "o": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "for": None,
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
TLDS = {"com", "org", "net", "edu", "gov", "io", "co", "uk", "us", "de", "info", "biz"}
EMAIL_RE = re.compile(r"^[\w.+-]+@[\w-]+(\.[\w-]+)+$")
DOMAIN_RE = re.compile(r"^[\w-]+(\.[\w-]+)*\.(" + "|".join(sorted(TLDS)) + r")$")
MIN_DIGIT_RUN = 4  # shorter spoken numbers ("two items", "ten minutes") are not identifiers


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _word_core(word: str) -> str:
    return re.sub(r"^[^\w@.+-]+|[^\w@+-]+$", "", word).lower()


def normalise(words: list[str]) -> list[tuple[str, int]]:
    """Words -> normalised tokens, each with the index of the word it came from.

    Digits become one token per digit ("4111" -> 4,1,1,1; "555-234" -> 5,5,5,2,3,4; "seven" -> 7).
    """
    out: list[tuple[str, int]] = []
    for wi, w in enumerate(words):
        core = _word_core(w)
        digit = DIGIT_WORDS.get(core)
        if digit:
            out.append((digit, wi))
        elif re.fullmatch(r"[\d\-().,]*\d[\d\-().,]*", core):
            out.extend((d, wi) for d in re.sub(r"\D", "", core))
        elif core:
            out.append((core, wi))
    return out


def detect(words: list[str]) -> list[tuple[str, set[int]]]:
    """(PII type, indices of the words to redact) for every hit in a word stream."""
    toks = normalise(words)
    hits: list[tuple[str, set[int]]] = []
    i = 0
    while i < len(toks):  # runs of digits, spoken or written
        if not toks[i][0].isdigit():
            i += 1
            continue
        j = i
        while j < len(toks) and toks[j][0].isdigit():
            j += 1
        run = "".join(t for t, _ in toks[i:j])
        idx = {wi for _, wi in toks[i:j]}
        if 13 <= len(run) <= 19 and luhn_ok(run):
            hits.append(("CREDIT_CARD", idx))
        elif len(run) in (7, 10, 11):
            hits.append(("PHONE", idx))
        elif len(run) >= MIN_DIGIT_RUN:
            hits.append(("NUMBER", idx))
        i = j
    # E-mail addresses, written ("a.b@x.com") or spoken ("a dot b at x dot com").
    for t, wi in toks:
        if EMAIL_RE.match(t):
            hits.append(("EMAIL", {wi}))
    for k, (t, _) in enumerate(toks):
        if t != "at" or k == 0:
            continue
        # local part: word (dot word)* before "at"; domain: word (dot word)+ ending in a known TLD after it
        s = k - 1
        while s >= 2 and toks[s - 1][0] == "dot":
            s -= 2
        e = k + 1
        while e + 2 < len(toks) and toks[e + 1][0] == "dot":
            e += 2
        spoken = k + 1 < e < len(toks) and toks[e][0] in TLDS  # "example dot com"
        written = e == k + 1 < len(toks) and DOMAIN_RE.match(toks[e][0])  # "example.com" (ASR often writes it)
        if (spoken or written) and toks[s][0].replace(".", "").isalnum():
            hits.append(("EMAIL", {wi for _, wi in toks[s : e + 1]}))
    return hits


def redact_segments(texts: list[str]) -> tuple[list[str], list[dict[str, Any]]]:
    """Redact a channel's segment texts (in time order). Returns new texts and [{type, segment}] records."""
    words: list[str] = []
    owner: list[int] = []
    for si, text in enumerate(texts):
        for w in text.split():
            words.append(w)
            owner.append(si)
    tagged: dict[int, str] = {}
    records: list[dict[str, Any]] = []
    for kind, idx in detect(words):
        for wi in idx:
            tagged.setdefault(wi, kind)
        for si in sorted({owner[wi] for wi in idx}):
            records.append({"type": kind, "segment": si})
    out: list[list[str]] = [[] for _ in texts]
    for wi, w in enumerate(words):
        si = owner[wi]
        if wi in tagged:
            tag = f"[{tagged[wi]}]"
            trail = re.search(r"[.,!?;:]+$", w)
            if out[si] and out[si][-1].startswith(tag) and (wi - 1) in tagged and owner[wi - 1] == si:
                out[si][-1] = tag + (trail.group(0) if trail else "")  # one tag per run of redacted words
            else:
                out[si].append(tag + (trail.group(0) if trail else ""))
        else:
            out[si].append(w)
    unique = [{"type": t, "segment": si} for si, t in sorted({(r["segment"], r["type"]) for r in records})]
    return [" ".join(ws) for ws in out], unique
