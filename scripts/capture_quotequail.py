#!/usr/bin/env python3
"""Captures quotequail's quote tests as JSON cases for tests/reply_text_suites.rs.

Usage: pip download quotequail==0.5.4 --no-deps --no-binary :all:
       tar xzf quotequail-0.5.4.tar.gz
       scripts/capture_quotequail.py quotequail-0.5.4 tests/fixtures/replies/quotequail

Reads the parametrized cases of tests/test_quote.py and tests/test_quote_html.py
(pytest is stubbed: only its parametrize decorator is needed) and writes
{name, input, expect}: `expect` is what quotequail's quote(..., quote_intro_line=True)
marks as the reply (its True parts, joined), the words a reader keeps.
"""
import importlib.util
import json
import sys
import types
from pathlib import Path


def stub_pytest():
    pytest = types.ModuleType("pytest")

    def parametrize(names, values):
        def mark(fn):
            fn.cases = (names, values)
            return fn

        return mark

    pytest.mark = types.SimpleNamespace(parametrize=parametrize)
    sys.modules["pytest"] = pytest


def load(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cases(module, test):
    _names, values = getattr(module, test).cases
    out = []
    for n, (given, _expected, with_intro) in enumerate(values, 1):
        reply = "".join(text for is_reply, text in with_intro if is_reply)
        out.append({"name": f"{test}#{n}", "input": given, "expect": reply})
    return out


def main():
    src, dest = Path(sys.argv[1]), Path(sys.argv[2])
    sys.path.insert(0, str(src))  # the sdist's own quotequail package
    stub_pytest()
    for file, test in [("test_quote.py", "test_quote"), ("test_quote_html.py", "test_quote_html")]:
        found = cases(load(src / "tests" / file), test)
        target = dest / f"{test}.json"
        target.write_text(json.dumps(found, ensure_ascii=False, indent=1) + "\n")
        print(f"{target}: {len(found)} cases")


if __name__ == "__main__":
    main()
