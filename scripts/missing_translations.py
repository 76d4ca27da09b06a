#!/usr/bin/env python3
"""Prints PO entries for messages that have no Korean translation yet.

    python scripts/missing_translations.py >> forum/locale/ko/LC_MESSAGES/<feature>.po

then fill in each msgstr.
"""

from forum import i18n
from forum.i18n_extract import messages


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def main() -> None:
    korean = i18n.catalogue("ko")
    for msgid, ids in sorted(messages().items()):
        if msgid in korean:
            continue
        print(f"msgid {quote(msgid)}")
        if len(ids) > 1:
            print(f"msgid_plural {quote(ids[1])}")
            print('msgstr[0] ""\n')
        else:
            print('msgstr ""\n')


if __name__ == "__main__":
    main()
