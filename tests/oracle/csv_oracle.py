#!/usr/bin/env python3
"""The conformance oracle: Python's own `csv` module reads each file named on the command line
(after an optional `--delimiter C`) and prints one JSON line per file: {"path": P, "records": [[field, ...], ...]} or
{"path": P, "error": MESSAGE} when `csv.reader` rejects it.

Everything is Python's defaults (the "excel" dialect: `,` delimiter, `"` quote, doubled `""`
escapes, strict=False) except what any careful user sets: files are opened with newline=''
(so CR/LF inside quoted fields survive, as the csv docs require), decoded as utf-8-sig (a
leading BOM is not data) with surrogateescape (invalid UTF-8 survives to be shown the way fleet
shows it: each bad sequence as U+FFFD), and the field size limit is lifted (the default
131,072 would reject the multi-MB fields the tests use).

Nothing here filters or adjusts records to look like fleet: the differences are spelled out in
tests/conformance.rs, which applies them as rules on top of this output.
"""
import csv
import json
import sys

csv.field_size_limit(sys.maxsize)


def shown(field):
    # Invalid UTF-8 bytes came in as lone surrogates; show them as fleet's JSON does.
    return field.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def read(path, delimiter):
    with open(path, newline="", encoding="utf-8-sig", errors="surrogateescape") as f:
        return [[shown(x) for x in row] for row in csv.reader(f, delimiter=delimiter)]


def main():
    out = sys.stdout
    args = sys.argv[1:]
    delimiter = ","
    if args[:1] == ["--delimiter"]:
        delimiter, args = args[1], args[2:]
    for path in args:
        try:
            doc = {"path": path, "records": read(path, delimiter)}
        except csv.Error as e:
            doc = {"path": path, "error": str(e)}
        out.write(json.dumps(doc, ensure_ascii=True))
        out.write("\n")


if __name__ == "__main__":
    main()
