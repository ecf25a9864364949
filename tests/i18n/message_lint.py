#!/usr/bin/python3
"""Finds user-facing English string literals that bypass tr()/trf() (base/i18n.hpp).

What it checks, in the product's sources (every top-level folder but tests, bench, scripts, po):
  * the message (last) argument of UNET_CHECK / UNET_THROW;
  * the message of a CLI::ValidationError (a usage error of ours);
  * the description of CLI11 options, flags and subcommands (add_option, add_flag,
    add_subcommand, ->description, ->group);
  * printf / fprintf / snprintf format strings and their values, std::cout / std::cerr output;
  * console lines: say(), progress.message(), problem(), *.push_back() into problems /
    defects / warnings lists;
  * the values inside trf(...) (a literal there is English glued into a translated sentence);
  * in the report and picture sources (REPORT_FILES): text between HTML tags, chart titles and
    labels (line_chart, bar_chart, Series{...}, text drawn with p.text / c.text) and the
    report's fact names.
A literal "has words" when, with printf directives and {} placeholders removed, two letters
follow each other. File names, option names and the allowlist below are not messages.

What it cannot see: English assembled elsewhere and passed in through a variable (the
argument is then not a literal), messages of third-party code (CLI11's own parse errors,
libtiff's, the C library's strerror), and sinks not named above. tests/i18n/catalogue_coverage.py
checks the other half: every tr()/trf() message has a Chinese translation.
"""
import re
import sys
from pathlib import Path

# The product's sources: every top-level folder except these (so a new folder is checked
# without being added here); build trees are skipped by their CMakeCache.txt.
NOT_PRODUCT = {"tests", "bench", "scripts", "po", "build"}


def source_dirs(root):
    return sorted(d.name for d in root.iterdir()
                  if d.is_dir() and not d.name.startswith(".") and d.name not in NOT_PRODUCT
                  and not (d / "CMakeCache.txt").exists())
REPORT_FILES = {"tools/report.cpp", "tools/brats_report.cpp", "tools/charts.cpp", "tools/visuals.cpp", "tools/brats_visuals.cpp"}

# Literals that are not messages, each with the reason.
ALLOW = {
    "unet": "the program's name",
    "SYNTH_SY_%04d_%04d%02d%02d": "a synthetic patient's id (a file name)",
    "BraTS20_Training_%03d": "a synthetic case's id (a file name)",
    "volumes-%016llx.bin": "a cache file name",
    "series_%012llx": "a DICOM series id (a folder name)",
    "%.1f GF/s": "a unit",
    "%.1f GB/s": "a unit",
    "%.1f s": "seconds: the SI unit symbol",
    "%.1f mm": "millimetres: the SI unit symbol",
    "%.3f mm": "millimetres: the SI unit symbol",
}
FILE_LIKE = re.compile(r"^[\w./<>*-]*\.(safetensors|csv|json|html|png|svg|gif|tif|tiff|nii|nii\.gz|txt|mo|py|pt|pth)$|^--?[\w-]+$|^[\w./-]*/$")


def tokens(src, begin=0, end=None):
    """The source from `begin` as ("lit", start, end, value) for string literals and
    ("code", index, index + 1, char) for code; comments and character literals are skipped."""
    end = len(src) if end is None else end
    i = begin
    while i < end:
        if src.startswith("//", i):
            i = src.find("\n", i)
            i = end if i < 0 else i
        elif src.startswith("/*", i):
            i = src.find("*/", i) + 2
        elif src[i] in "'\"":
            quote, raw = src[i], src[i] == '"' and i > 0 and src[i - 1] == "R"
            if raw:
                m = re.match(r'"([^(]*)\(', src[i:])
                close = src.index(")" + m.group(1) + '"', i) + len(m.group(1)) + 2
                yield "lit", i, close, src[i + len(m.group(0)):close - len(m.group(1)) - 2]
                i = close
                continue
            j = i + 1
            while src[j] != quote:
                j += 2 if src[j] == "\\" else 1
            if quote == '"':
                yield "lit", i, j + 1, src[i + 1:j]
            i = j + 1
        else:
            yield "code", i, i + 1, src[i]
            i += 1


def literals(src):
    """(start, end, value) of every string literal."""
    return [(s, e, v) for kind, s, e, v in tokens(src) if kind == "lit"]


def code_chars(src, begin, end):
    """(index, char) of the code between begin and end."""
    return ((s, v) for kind, s, _, v in tokens(src, begin, end) if kind == "code")


def match_paren(src, i):
    depth = 0
    for j, c in code_chars(src, i, len(src)):
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                return j
    return len(src)


def args_of(src, open_i, close_i):
    """Spans of the top-level arguments between open_i and close_i."""
    spans, depth, start = [], 0, open_i + 1
    for j, c in code_chars(src, open_i + 1, close_i):
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == "," and depth == 0:
            spans.append((start, j))
            start = j + 1
    spans.append((start, close_i))
    return spans


# Terms that Chinese medical-imaging text keeps in English (po/zh_CN.po keeps them too): a
# literal made of these alone ("<th>Dice WT</th>", "HD95 ET (mm)") needs no translation.
KEPT_TERMS = re.compile(r"\b(?:Dice|IoU|DSC|HD95|WT|TC|ET|L[124]|mm|nan|lr)\b")


def has_words(v):
    v = re.sub(r"</?[a-z][a-z0-9]*(?:\s[^<>]*)?>", " ", v)  # HTML tags are markup, not words
    v = KEPT_TERMS.sub(" ", v)
    v = re.sub(r"%[-+ #0-9.*]*(?:ll|l|z|h)?[a-zA-Z]", " ", v)
    v = re.sub(r"\{\d*\}", " ", v)
    v = re.sub(r"\\[nt]", " ", v)
    return re.search(r"[A-Za-z]{2,}", v) is not None


def is_message(v):
    if v in ALLOW or FILE_LIKE.match(v.strip()):
        return False
    return has_words(v)


SINKS = [  # (regex of the call, which argument: an index, "last" or "all")
    (r"\bUNET_(?:CHECK|THROW)\s*\(", "last"),
    (r"\badd_option\s*\(", 2),
    (r"\badd_flag\s*\(", "flag"),
    (r"\badd_subcommand\s*\(", 1),
    (r"(?:->|\.)(?:description|group|footer)\s*\(", 0),
    (r"\bfprintf\s*\(", "from1"),
    (r"\bsnprintf\s*\(", "from2"),
    (r"(?<![sf])\bprintf\s*\(", "all"),
    (r"\bf?puts\s*\(", 0),
    (r"\b(?:say|problem|progress\.message|message)\s*\(", "all"),
    (r"\b(?:problems|defects|warnings)\.push_back\s*\(", "all"),
    (r"\bCLI::ValidationError\s*\(", "last"),
    (r"\bAllRanksStopped\s*\(", "last"),
    (r"\btrf\s*\(", "values"),
]
REPORT_SINKS = [
    (r"\b(?:line_chart|bar_chart)\s*\(", "all"),
    (r"\b[pc]\.text\s*\(", "all"),
    (r"\bSeries\s+\w+\s*\{", "all"),
    (r"\bfacts\s*=\s*\{", "all"),
    (r"\bfacts\.push_back\s*\(", "all"),
]


def protected_spans(src, lits):
    """Literals that are the first argument of tr( or trf( are translated."""
    ok = set()
    for m in re.finditer(r"\btrf?\s*\(", src):
        open_i = m.end() - 1
        close = match_paren(src, open_i)
        first = args_of(src, open_i, close)[0]
        for s, e, _ in lits:
            if first[0] <= s and e <= first[1]:
                ok.add(s)
    return ok


def check_file(path, rel):
    src = path.read_text()
    lits = literals(src)
    ok = protected_spans(src, lits)
    flagged = {}

    def flag_in(a, b, why):
        for s, e, v in lits:
            if a <= s and e <= b and s not in ok and is_message(v):
                flagged.setdefault(s, (v, why))

    sinks = SINKS + (REPORT_SINKS if rel in REPORT_FILES else [])
    for rx, which in sinks:
        for m in re.finditer(rx, src):
            if src[:m.start()].rstrip().endswith("#define"):
                continue
            if src[max(0, m.start() - 8):m.start()].endswith("define "):
                continue
            open_i = m.end() - 1
            close = match_paren(src, open_i)
            spans = args_of(src, open_i, close)
            if which == "last":
                picked = spans[-1:]
            elif which == "all":
                picked = spans
            elif which == "values":
                picked = spans[1:]
            elif which in ("from1", "from2"):
                picked = spans[int(which[-1]):]
            elif which == "flag":
                picked = spans[1:] if len(spans) == 2 else spans[2:]
            else:
                picked = spans[which:which + 1]
            for a, b in picked:
                flag_in(a, b, m.group(0).rstrip("({ "))
    # std::cout / std::cerr statements up to their ';'.
    for m in re.finditer(r"std::(?:cout|cerr|clog)\s*<<", src):
        end = src.find(";", m.end())
        flag_in(m.end(), end, "std::cout/cerr")
    if rel in REPORT_FILES:
        # Text between HTML tags: ">Curves<", "<h2>Epochs</h2>", "<th>train loss</th>".
        for s, e, v in lits:
            if s in ok:
                continue
            for t in re.findall(r">([^<>]*)<", v):
                if has_words(t):
                    flagged.setdefault(s, (v, "HTML text"))
    out = []
    for s, (v, why) in sorted(flagged.items()):
        line = src.count("\n", 0, s) + 1
        out.append(f"{rel}:{line}: [{why}] \"{v[:90]}\"")
    return out


def main():
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2]
    problems = []
    files = 0
    for d in source_dirs(root):
        for p in sorted((root / d).rglob("*")):
            if p.suffix in (".cpp", ".hpp", ".cu", ".cuh") and p.name not in ("i18n.hpp", "i18n.cpp"):
                files += 1
                problems += check_file(p, str(p.relative_to(root)))
    for line in problems:
        print(line)
    if problems:
        print(f"message lint: {len(problems)} user-facing literal(s) bypass tr()/trf() in {files} files "
              "(wrap them, or add them to ALLOW in tests/i18n/message_lint.py with a reason)")
        return 1
    print(f"message lint: no user-facing literal bypasses tr()/trf() ({files} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
