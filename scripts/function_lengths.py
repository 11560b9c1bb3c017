#!/usr/bin/env python3
"""Function lengths in Rust sources: median, p90, the longest, those over a limit.

A function runs from its `fn` line to its closing brace (lines counted
inclusive). Braces inside strings, chars and comments are skipped. Used to
check the style rule "no function over 60 lines on the message path, none
over 80 anywhere".

    scripts/function_lengths.py [DIR ...] [--top N] [--over N]   (defaults: src, 5, 60)
"""
import re
import statistics
import sys
from pathlib import Path

FN = re.compile(r"^\s*(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?(extern\s+\"[^\"]*\"\s+)?fn\s+(\w+)")


def strip(line, state):
    """Returns the line without strings, chars and comments; state carries block comments and raw strings."""
    out = []
    i = 0
    n = len(line)
    while i < n:
        if state["block"]:
            j = line.find("*/", i)
            if j < 0:
                return "".join(out)
            state["block"] = False
            i = j + 2
            continue
        if state["raw"] is not None:
            j = line.find(state["raw"], i)
            if j < 0:
                return "".join(out)
            i = j + len(state["raw"])
            state["raw"] = None
            continue
        if state["str"]:
            c = line[i]
            if c == "\\":
                i += 2
                continue
            if c == '"':
                state["str"] = False
            i += 1
            continue
        c = line[i]
        if line.startswith("//", i):
            break
        if line.startswith("/*", i):
            state["block"] = True
            i += 2
            continue
        m = re.match(r'b?r(#*)"', line[i:])
        if m and (i == 0 or not (line[i - 1].isalnum() or line[i - 1] == "_")):
            state["raw"] = '"' + m.group(1)
            i += len(m.group(0))
            continue
        if c == '"':
            state["str"] = True
            i += 1
            continue
        if c == "'":
            m = re.match(r"'(\\.|\\u\{[0-9a-fA-F]+\}|[^\\'])'", line[i:])
            if m:
                i += len(m.group(0))
                continue
        out.append(c)
        i += 1
    return "".join(out)


def functions(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    state = {"block": False, "raw": None, "str": False}
    code = [strip(l, state) for l in lines]
    found = []
    for start, text in enumerate(code):
        m = FN.match(text)
        if not m:
            continue
        depth = 0
        opened = False
        for end in range(start, len(code)):
            for c in code[end]:
                if c == "{":
                    depth += 1
                    opened = True
                elif c == "}":
                    depth -= 1
                elif c == ";" and not opened and depth == 0:
                    break
            else:
                if opened and depth == 0:
                    found.append((end - start + 1, f"{path}:{start + 1}", m.group(7)))
                    break
                continue
            break
    return found


def main(argv):
    dirs, top, over = [], 5, 60
    it = iter(argv)
    for a in it:
        if a == "--top":
            top = int(next(it))
        elif a == "--over":
            over = int(next(it))
        else:
            dirs.append(a)
    found = []
    for d in dirs or ["src"]:
        for p in sorted(Path(d).rglob("*.rs")):
            found.extend(functions(p))
    lengths = sorted(n for n, _, _ in found)
    p90 = lengths[int(0.9 * (len(lengths) - 1))]
    print(f"{len(lengths)} functions, median {statistics.median(lengths)}, p90 {p90}, "
          f"over 60: {sum(n > 60 for n in lengths)}, over 80: {sum(n > 80 for n in lengths)}, "
          f"over 100: {sum(n > 100 for n in lengths)}")
    for n, where, name in sorted(found, reverse=True)[:top]:
        print(f"{n:5}  {name}  {where}")
    if over is not None:
        for n, where, name in sorted(found, reverse=True):
            if n > over:
                print(f"over {over}: {n:5}  {name}  {where}")


if __name__ == "__main__":
    main(sys.argv[1:])
