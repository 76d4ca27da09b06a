#!/usr/bin/env python3
"""Writes a PO file from a Python dict of msgid -> Korean text (a helper for
catalogue maintenance): ``python scripts/write_po.py dict.py OUT.po``. Plural
msgids (found in the code) get msgid_plural and one Korean form."""

import runpy
import sys

from forum.i18n_extract import messages


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


HEADER = """msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\\n"
"Language: ko\\n"
"Plural-Forms: nplurals=1; plural=0;\\n"

"""


def main() -> None:
    table = runpy.run_path(sys.argv[1])["KO"]
    found = messages()
    with open(sys.argv[2], "w", encoding="utf-8") as out:
        out.write(HEADER)
        for msgid in sorted(table):
            ids = found.get(msgid, (msgid,))
            out.write(f"msgid {quote(msgid)}\n")
            if len(ids) > 1:
                out.write(f"msgid_plural {quote(ids[1])}\n")
                out.write(f"msgstr[0] {quote(table[msgid])}\n\n")
            else:
                out.write(f"msgstr {quote(table[msgid])}\n\n")


if __name__ == "__main__":
    main()
