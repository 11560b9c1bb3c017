#!/usr/bin/env python3
"""Extract the compact Japanese-English noun lexicon the matcher embeds.

Source: EDICT (JMdict/EDICT project, Electronic Dictionary Research and
Development Group, CC BY-SA 4.0), as Debian's `edict` package installs it:

    apt-get install edict
    python3 scripts/make_lexicon.py /usr/share/edict/edict > data/lexicon-ja-en.tsv

Output: one line per Japanese form, sorted by UTF-8 bytes (the matcher looks
forms up by binary search in the embedded text, so nothing is loaded at
start-up):

    form<TAB>reading<TAB>gloss|gloss|...

Kept: senses tagged as nouns (n, vs, n-suf, n-pref); glosses of at most three
words, parentheses removed; archaic, obsolete, rare and slang senses dropped;
forms of at most eight characters. A kana reading becomes a form of its own
only when the entry is usually written in kana (uk). The same form from
several entries merges its glosses (at most four).

With --kanji-readings it writes instead the usual on-readings of single
kanji (data/kanji-readings.tsv), for kanji abbreviations EDICT lacks
(科研費, read か+けん+ひ, meets "kakenhi"):

    python3 scripts/make_lexicon.py --kanji-readings /usr/share/edict/edict > data/kanji-readings.tsv

    kanji<TAB>reading|reading

They are learnt from EDICT's two-kanji words by expectation maximisation
over the ways each word's reading splits between its two kanji (a part of
one to four kana, not opening on a small kana or ん); a kanji keeps at most
two readings, each with at least 15% of its weight, from at least three
words.
"""

import collections

import re
import sys

NOUN_TAGS = {"n", "vs", "n-suf", "n-pref", "n-adv", "n-t"}
DROP_TAGS = {"arch", "obs", "obsc", "rare", "sl", "vulg", "X", "derog", "male-sl", "fem"}
MAX_GLOSSES = 4
MAX_FORM = 8
MAX_GLOSS_WORDS = 3

TAG = re.compile(r"^\(([^)]*)\)\s*")
PAREN = re.compile(r"\([^)]*\)")


def senses(fields):
    """Yields (tags, glosses) per sense; a sense opens with a POS tag group."""
    tags, glosses = set(), []
    for field in fields:
        field = field.strip()
        if not field or field == "(P)" or field.startswith("EntL"):
            continue
        group = set()
        while True:
            m = TAG.match(field)
            if not m:
                break
            for t in m.group(1).split(","):
                group.add(t.strip())
            field = field[m.end():]
        starts = any(t in NOUN_TAGS or t.startswith(("v", "adj", "adv", "exp", "int", "conj", "prt", "pn", "aux", "ctr", "cop", "num")) for t in group)
        if starts and glosses:
            yield tags, glosses
            tags, glosses = set(), []
        tags |= group
        glosses.append(field)
    if glosses:
        yield tags, glosses


def clean(gloss):
    g = PAREN.sub("", gloss).strip().strip(".").strip()
    g = re.sub(r"\s+", " ", g).lower()
    if not g or len(g.split(" ")) > MAX_GLOSS_WORDS or "|" in g or "\t" in g:
        return None
    return g


def parse(line):
    m = re.match(r"^(\S+)(?: \[([^\]]+)\])? /(.*)/$", line.rstrip("\n"))
    if not m:
        return None
    forms, reading, rest = m.group(1), m.group(2) or "", m.group(3)
    return forms.split(";"), reading, rest.split("/")


def main(path):
    lexicon = {}
    with open(path, encoding="euc_jp", errors="replace") as f:
        for n, line in enumerate(f):
            if n == 0:
                continue  # the header line with the copyright notice
            parsed = parse(line)
            if not parsed:
                continue
            forms, reading, fields = parsed
            kept, usually_kana = [], False
            for tags, glosses in senses(fields):
                usually_kana |= "uk" in tags
                if not tags & NOUN_TAGS or tags & DROP_TAGS:
                    continue
                kept += [g for g in map(clean, glosses) if g]
            if not kept:
                continue
            keys = [f for f in forms if len(f) <= MAX_FORM]
            if reading and (usually_kana or not keys):
                keys.append(reading)
            for form in keys:
                slot = lexicon.setdefault(form, [reading, []])
                for g in kept:
                    if g not in slot[1] and len(slot[1]) < MAX_GLOSSES:
                        slot[1].append(g)
    out = sys.stdout
    for form in sorted(lexicon, key=lambda s: s.encode("utf-8")):
        reading, glosses = lexicon[form]
        out.write(f"{form}\t{reading if reading != form else ''}\t{'|'.join(glosses)}\n")


def hiragana(s):
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in s)


def is_kanji(c):
    return "\u4e00" <= c <= "\u9fff"


def two_kanji_words(path):
    with open(path, encoding="euc_jp", errors="replace") as f:
        next(f)  # the header line with the copyright notice
        for line in f:
            m = re.match(r"^(\S+) \[([^\]]+)\] /", line)
            if not m:
                continue
            reading = hiragana(PAREN.sub("", m.group(2).split(";")[0]))
            for form in m.group(1).split(";"):
                form = PAREN.sub("", form)
                if len(form) == 2 and all(map(is_kanji, form)):
                    yield form, reading


NOT_OPENING = set("ゃゅょっんーぁぃぅぇぉ")


def splits(reading):
    for k in range(1, len(reading)):
        a, b = reading[:k], reading[k:]
        if len(a) <= 4 and len(b) <= 4 and b[0] not in NOT_OPENING:
            yield a, b


def kanji_readings(path, rounds=5):
    words = [(f, [s for s in splits(r)]) for f, r in two_kanji_words(path)]
    words = [(f, s) for f, s in words if s]
    share = None
    for _ in range(rounds):
        counts = collections.defaultdict(lambda: collections.defaultdict(float))
        seen = collections.Counter()
        for form, ways in words:
            if share is None:
                w = [1.0] * len(ways)
            else:
                w = [share[form[0]].get(a, 1e-3) * share[form[1]].get(b, 1e-3) for a, b in ways]
            total = sum(w)
            for (a, b), x in zip(ways, w):
                counts[form[0]][a] += x / total
                counts[form[1]][b] += x / total
            seen.update(form)
        share = {k: {r: x / sum(d.values()) for r, x in d.items()} for k, d in counts.items()}
    out = sys.stdout
    for k in sorted(share, key=lambda s: s.encode("utf-8")):
        if seen[k] < 3 * rounds:
            continue
        best = sorted(share[k].items(), key=lambda x: -x[1])
        keep = [r for r, x in best[:2] if x >= 0.15 and not r.endswith("っ")]
        if keep:
            out.write(f"{k}\t{'|'.join(keep)}\n")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--kanji-readings"]:
        kanji_readings(sys.argv[2] if len(sys.argv) > 2 else "/usr/share/edict/edict")
    else:
        main(sys.argv[1] if len(sys.argv) > 1 else "/usr/share/edict/edict")
