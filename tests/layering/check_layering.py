#!/usr/bin/python3
"""The house's floors, checked: every #include points down a floor (or stays in its folder),
and each library target of CMakeLists.txt builds the sources of exactly one folder.

    base -> kernels -> engine -> layers -> unet -> train -> tools -> (bench, tests)
      \\            \\-> data ---------------------/
       \\-> dist -------------/

A folder's subfolders (kernels/cuda, layers/cpu...) belong to it. Folders on the same floor
(engine and data) may not include each other. Usage: check_layering.py SOURCE_DIR
"""
import re
import sys
from pathlib import Path

FLOORS = {
    "base": 0,
    "kernels": 1,
    "dist": 1,
    "engine": 2,
    "data": 2,
    "layers": 3,
    "unet": 4,
    "train": 5,
    "tools": 6,
    "bench": 7,
    "tests": 7,
}
# The library target of each folder (the executables of tools/, bench/ and tests/ are not libraries).
TARGETS = {
    "unet_base": "base",
    "unet_kernels": "kernels",
    "unet_dist": "dist",
    "unet_engine": "engine",
    "unet_layers": "layers",
    "unet_model": "unet",
    "unet_data": "data",
    "unet_train": "train",
    "unet_tools": "tools",
}
SOURCE_SUFFIXES = {".cpp", ".hpp", ".cu", ".cuh", ".h"}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def check_includes(root: Path) -> list[str]:
    problems = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.suffix not in SOURCE_SUFFIXES or rel.parts[0] not in FLOORS or "build" in rel.parts[0]:
            continue
        here = rel.parts[0]
        for target in INCLUDE.findall(path.read_text(errors="replace")):
            there = target.split("/")[0]
            if there not in FLOORS:
                problems.append(f"{rel}: includes \"{target}\", which is in no known folder")
                continue
            if there != here and FLOORS[there] >= FLOORS[here]:
                problems.append(
                    f"{rel}: includes \"{target}\": {here}/ (floor {FLOORS[here]}) may only include folders "
                    f"on lower floors, and {there}/ is on floor {FLOORS[there]}")
    return problems


def check_targets(root: Path) -> list[str]:
    text = (root / "CMakeLists.txt").read_text()
    text = re.sub(r"#[^\n]*", "", text)
    sources: dict[str, list[str]] = {}
    for kind, body in re.findall(r"(add_library|target_sources)\(([^)]*)\)", text):
        words = body.split()
        name = words[0]
        files = [w for w in words[1:] if Path(w).suffix in SOURCE_SUFFIXES]
        sources.setdefault(name, []).extend(files)
    problems = []
    for name, folder in TARGETS.items():
        if name not in sources:
            problems.append(f"CMakeLists.txt: no library target {name} for {folder}/")
            continue
        for f in sources[name]:
            if f.split("/")[0] != folder:
                problems.append(f"CMakeLists.txt: {name} builds {f}, which is not in {folder}/")
    for folder in set(TARGETS.values()):
        on_disk = {str(p.relative_to(root)) for p in (root / folder).rglob("*") if p.suffix in {".cpp", ".cu"}}
        built = {f for name, fs in sources.items() if TARGETS.get(name) == folder for f in fs}
        main_like = {f for f in on_disk if f.startswith("tools/unet_main") or f.startswith("tools/cmd_")}
        for f in sorted(on_disk - built - main_like):
            problems.append(f"CMakeLists.txt: {f} is in no library target (its folder's is {[k for k, v in TARGETS.items() if v == folder][0]})")
    return problems


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    problems = check_includes(root) + check_targets(root)
    for p in problems:
        print(p)
    if problems:
        print(f"layering: {len(problems)} problem(s)")
        return 1
    print(f"layering: every include points down a floor; {len(TARGETS)} library targets, one folder each")
    return 0


if __name__ == "__main__":
    sys.exit(main())
