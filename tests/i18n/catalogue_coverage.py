#!/usr/bin/python3
"""Every message of the sources has a Chinese translation in po/zh_CN.po.

Runs po/extract_messages.sh (xgettext over the sources, the arguments of tr() and trf()), then
fails for each msgid that po/zh_CN.po lacks, leaves empty or marks fuzzy, and for each
translation whose {} placeholders do not match its message: a message with n "{}" must be
translated with n "{}" or with exactly {0}..{n-1} (numbered, for another word order). The
printf-style messages are checked by msgfmt --check-format (here and at build time).
Entries of zh_CN.po that no source uses any more are reported but do not fail.
Usage: catalogue_coverage.py SOURCE_DIR WORK_DIR
"""
import re
import subprocess
import sys
from pathlib import Path


def unquote(s):
    """The C-escaped text between quotes, as written in a .po file (escapes kept)."""
    return s[s.index('"') + 1:s.rindex('"')]


def parse_po(text):
    """{msgid: (msgstr, fuzzy)}; strings keep their C escapes (\\n, \\")."""
    out = {}
    for block in re.split(r"\n\s*\n", text):
        msgid, msgstr, fuzzy, cur = [], [], False, None
        for line in block.splitlines():
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
            elif line.startswith("msgid "):
                cur = msgid
                cur.append(unquote(line))
            elif line.startswith("msgstr "):
                cur = msgstr
                cur.append(unquote(line))
            elif line.startswith('"') and cur is not None:
                cur.append(unquote(line))
        if msgid:
            out["".join(msgid)] = ("".join(msgstr), fuzzy)
    return out


def placeholders_match(msgid, msgstr):
    n = msgid.count("{}")
    if n == 0:
        return not re.search(r"\{\d*\}", msgstr)
    if msgstr.count("{}") == n and not re.search(r"\{\d+\}", msgstr):
        return True
    numbered = re.findall(r"\{(\d+)\}", msgstr)
    return "{}" not in msgstr and sorted(set(int(k) for k in numbered)) == list(range(n))


def main():
    source, work = Path(sys.argv[1]), Path(sys.argv[2])
    work.mkdir(parents=True, exist_ok=True)
    pot = work / "unet-engine.pot"
    subprocess.run([str(source / "po" / "extract_messages.sh"), str(source), str(pot)], check=True)
    wanted = [m for m in parse_po(pot.read_text(encoding="utf-8")) if m]
    po_file = source / "po" / "zh_CN.po"
    have = parse_po(po_file.read_text(encoding="utf-8"))
    check = subprocess.run(["msgfmt", "--check-format", "--check-header", "-o", str(work / "check.mo"), str(po_file)],
                           capture_output=True, text=True)
    problems = []
    if check.returncode != 0:
        problems.append("msgfmt --check-format rejects po/zh_CN.po:\n" + check.stderr)
    untranslated = 0
    for m in wanted:
        t = have.get(m)
        if t is None or not t[0] or t[1]:
            untranslated += 1
            why = "missing" if t is None else ("fuzzy" if t[1] else "empty")
            problems.append(f'untranslated ({why}): "{m}"')
        elif not placeholders_match(m, t[0]):
            problems.append(f'placeholders differ: "{m}" -> "{t[0]}"')
    unused = [m for m in have if m and m not in set(wanted)]
    for m in unused:
        print(f'note: po/zh_CN.po has an entry no source uses: "{m[:80]}"')
    for p in problems:
        print(p)
    print(f"catalogue: {len(wanted)} messages in the sources, {len(wanted) - untranslated} translated in po/zh_CN.po, "
          f"{len(unused)} unused entries")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
