#!/usr/bin/python3
"""Fails when something the build or the tests use is on this machine only by accident.

Collects every file outside the source tree, the build tree and /usr/local/cuda (the CUDA
toolkit is optional and not a Debian package) that the build resolved or the tests run:
  - the headers the compiled objects included (ninja -t deps),
  - the files and -l libraries named on the build commands (ninja -t commands), and the
    shared libraries the built programs load (ldd),
  - the paths CMake resolved and cached (FILEPATH / PATH entries of CMakeCache.txt; for an
    include folder, the header its find_path looked for; for a package folder, its .cmake files),
  - the programs the test scripts run and the Python modules they import (imported by the
    same interpreter; every loaded module file and shared library counts).
Then finds each file's Debian package (dpkg -S) and requires that package to be in the
list of scripts/install_deps.sh or in what the list pulls in: the Depends/Pre-Depends closure
of the list and of the Essential / priority-required packages, followed through packages
that are installed here (for a virtual package or an `a | b` group, its installed
alternatives). CI keeps packages installed by hand, so without this check a missing
install step would stay invisible until a fresh machine fails.

Usage: check_deps.py [--source-dir DIR] [--build-dir DIR] [--packages-from FILE]
Exit status: 0 all covered, 1 some file is not covered, 2 the check could not run.
"""
import argparse
import json
import os
import shutil
import sys

sys.dont_write_bytecode = True  # a test leaves nothing in the source tree
from build_inputs import collect_build_commands, collect_cache, collect_headers, collect_runtime_libraries  # noqa: E402
from build_inputs import read_cache  # noqa: E402
from debian_packages import dependency_edges, installed_packages, merged_usr_aliases, owners_of  # noqa: E402
from debian_packages import reachable, smallest_addition, symlink_chain  # noqa: E402
from test_inputs import collect_test_tools  # noqa: E402
from used_files import CheckError, UsedFiles, run  # noqa: E402


def read_package_list(args):
    if args.packages_from:
        try:
            with open(args.packages_from, encoding="utf-8") as f:
                text = f.read()
        except OSError as error:
            raise CheckError("cannot read the package list %s: %s" % (args.packages_from, error))
        origin = "the list in " + args.packages_from
    else:
        script = os.path.join(args.source_dir, "scripts", "install_deps.sh")
        text = run(["bash", script, "--list"]).stdout
        origin = "the list in scripts/install_deps.sh"
    packages = [w for line in text.splitlines() for w in line.split("#")[0].split()]
    if not packages:
        raise CheckError("%s is empty" % origin)
    return packages, origin


# ---- the verdict ----

def judge(used, allowed, owners):
    """For each used file, the packages it comes from that are not allowed ([] = all fine)."""
    problems = []
    for path in sorted(used.reasons):
        chain = symlink_chain(path)
        offending, real_owned = [], False
        for index, link in enumerate(chain):
            link_owners = set().union(*(owners.get(a, set()) for a in merged_usr_aliases(link)))
            if index == len(chain) - 1:
                real_owned = bool(link_owners)
            if link_owners and not link_owners & allowed:
                offending.append((link, sorted(link_owners)))
        if not real_owned:
            offending.append((chain[-1], []))
        if offending:
            problems.append((path, used.reasons[path], offending))
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--source-dir", default=os.path.dirname(os.path.dirname(here)))
    parser.add_argument("--build-dir", default=None, help="default: SOURCE_DIR/build")
    parser.add_argument("--packages-from", default=None,
                        help="a file with the package list (default: scripts/install_deps.sh --list)")
    args = parser.parse_args()
    args.source_dir = os.path.realpath(args.source_dir)
    args.build_dir = os.path.realpath(args.build_dir or os.path.join(args.source_dir, "build"))
    try:
        if not os.path.isfile(os.path.join(args.build_dir, "build.ninja")):
            raise CheckError("%s is not a Ninja build tree (configure with: cmake -S . -B build -G Ninja)"
                             % args.build_dir)
        listed, origin = read_package_list(args)
        ninja = read_cache(args.build_dir).get("CMAKE_MAKE_PROGRAM", ("", ""))[1] or shutil.which("ninja")
        used, notes = UsedFiles(args.source_dir, args.build_dir), set()
        collect_headers(ninja, args.build_dir, used)
        programs = collect_build_commands(ninja, args.build_dir, used, notes)
        collect_cache(args.build_dir, args.source_dir, used)
        programs += collect_test_tools(args.source_dir, args.build_dir, used, notes)
        collect_runtime_libraries(programs, used)

        installed, base = installed_packages()
        for package in listed:
            if package not in installed:
                notes.add("%s is in the list but not installed here (run scripts/install_deps.sh)" % package)
        roots = (set(listed) | base) & installed
        allowed = reachable(roots, dependency_edges(roots), installed)
        all_paths = [a for p in used.reasons for link in symlink_chain(p) for a in merged_usr_aliases(link)]
        owners = owners_of(all_paths)
    except (CheckError, OSError, json.JSONDecodeError) as error:
        print("deps check: cannot run: %s" % error)
        return 2

    for note in sorted(notes):
        print("deps check: note: %s" % note)
    problems = judge(used, allowed, owners)
    packages = {p for path in used.reasons for a in merged_usr_aliases(os.path.realpath(path))
                for p in owners.get(a, ())}
    if not problems:
        print("deps check: OK: %d files the build and tests use come from %d Debian packages, all brought by %s "
              "(%d packages listed, %d in their dependency closure with the essential ones)"
              % (len(used.reasons), len(packages), origin, len(listed), len(allowed)))
        return 0
    print("deps check: FAILED: %d of %d files the build or tests use come from packages that %s does not "
          "bring (neither listed, nor a dependency of a listed package, nor essential):"
          % (len(problems), len(used.reasons), origin))
    missing = set()
    for path, reasons, offending in problems:
        print("  %s  (%s)" % (path, "; ".join(reasons[:3])))
        for link, link_owners in offending:
            via = "" if link == path else " (through %s)" % link
            if link_owners:
                missing.update(link_owners)
                print("    package %s%s: install it through scripts/install_deps.sh (add %s to the list)"
                      % (" or ".join(link_owners), via, link_owners[0]))
            else:
                print("    no Debian package owns it%s: install it through scripts/install_deps.sh (add the Debian "
                      "package that provides it to the list)" % via)
    if missing:
        print("deps check: adding %s to the list in scripts/install_deps.sh brings all of: %s"
              % (" ".join(smallest_addition(missing, installed)), " ".join(sorted(missing))))
    return 1


if __name__ == "__main__":
    sys.exit(main())
