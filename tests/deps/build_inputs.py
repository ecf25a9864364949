"""What the build resolved outside the source tree: the headers it included, the files and
libraries on its command lines, the libraries its programs load, and the paths CMake cached."""
import functools
import glob
import os
import re
import shlex

from used_files import CheckError, run

# Cache entries that CMake's CTest module fills for optional dashboard tools (memcheck,
# coverage, version control); the build and `ctest` never run them.
CTEST_DASHBOARD_TOOLS = {"MEMORYCHECK_COMMAND", "COVERAGE_COMMAND", "GITCOMMAND", "CVSCOMMAND", "SVNCOMMAND",
                         "HGCOMMAND", "P4COMMAND", "BZRCOMMAND", "MEMORYCHECK_SUPPRESSIONS_FILE"}


def collect_headers(ninja, build_dir, used):
    output = run([ninja, "-C", build_dir, "-t", "deps"]).stdout
    count = 0
    for line in output.splitlines():
        if line.startswith(" ") and line.strip():
            count += 1
            used.add(os.path.join(build_dir, line.strip()), "header included by the build")
    if count == 0:
        raise CheckError("'ninja -t deps' in %s lists no headers: build the project first (cmake --build %s)"
                         % (build_dir, build_dir))


@functools.lru_cache(maxsize=None)
def resolve_library(name, search_dirs, driver):
    """Where the linker finds -l<name>: the -L folders first, then the compiler's own search path."""
    file_names = [name[1:]] if name.startswith(":") else ["lib%s.so" % name, "lib%s.a" % name]
    for folder in search_dirs:
        for file_name in file_names:
            if os.path.isfile(os.path.join(folder, file_name)):
                return os.path.join(folder, file_name)
    if driver:
        for file_name in file_names:
            found = run([driver, "-print-file-name=" + file_name], check=False).stdout.strip()
            if found.startswith("/") and os.path.isfile(found):
                return found
    return None


def collect_build_commands(ninja, build_dir, used, notes):
    """Files named on the build commands, -l libraries, and the programs the link steps write."""
    programs = []
    for line in run([ninja, "-C", build_dir, "-t", "commands"]).stdout.splitlines():
        try:
            tokens = shlex.split(line)
        except ValueError:
            tokens = line.split()
        driver = next((t for t in tokens if t.startswith("/") and os.access(t, os.X_OK) and os.path.isfile(t)), None)
        search_dirs = tuple(os.path.join(build_dir, t[2:]) for t in tokens if t.startswith("-L") and len(t) > 2)
        for i, token in enumerate(tokens):
            if token.startswith("/") and os.path.isfile(token):
                is_library = re.search(r"\.(so(\.\d+)*|a)$", token)
                used.add(token, "library on a link line" if is_library else "program or file of a build command")
            elif token.startswith("-l") and len(token) > 2:
                found = resolve_library(token[2:], search_dirs, driver)
                if found:
                    used.add(found, "library on a link line (%s)" % token)
                else:
                    notes.add("could not resolve %s on a link line (not checked)" % token)
            elif token == "-o" and i + 1 < len(tokens) and " -c " not in line:
                output = os.path.join(build_dir, tokens[i + 1])
                if not re.search(r"\.(o|a|so)$", output) and os.access(output, os.X_OK):
                    programs.append(output)
    return programs


def collect_runtime_libraries(programs, used):
    for program in sorted(set(programs)):
        output = run(["ldd", program], check=False).stdout
        for match in re.finditer(r"(?:=>\s*)?(/\S+)\s+\(0x", output):
            used.add(match.group(1), "shared library loaded by %s" % os.path.basename(program))


def read_cache(build_dir):
    entries = {}
    with open(os.path.join(build_dir, "CMakeCache.txt"), encoding="utf-8", errors="replace") as cache:
        for line in cache:
            match = re.match(r"^([A-Za-z0-9_.+-]+):([A-Z]+)=(.*)$", line.rstrip("\n"))
            if match:
                entries[match.group(1)] = (match.group(2), match.group(3))
    return entries


def find_path_names(variable, cmake_files):
    """The file names a find_path(<variable> ...) call looks for, from the CMake files that may hold it."""
    keywords = {"HINTS", "PATHS", "PATH_SUFFIXES", "DOC", "ENV", "REQUIRED", "NO_DEFAULT_PATH", "NO_CACHE",
                "NAMES_PER_DIR", "NO_CMAKE_PATH", "NO_CMAKE_ENVIRONMENT_PATH", "NO_SYSTEM_ENVIRONMENT_PATH",
                "NO_CMAKE_SYSTEM_PATH", "CMAKE_FIND_ROOT_PATH_BOTH", "ONLY_CMAKE_FIND_ROOT_PATH",
                "NO_CMAKE_FIND_ROOT_PATH", "NO_PACKAGE_ROOT_PATH", "VALIDATOR"}
    names = set()
    call = re.compile(r"find_path\s*\(\s*" + re.escape(variable) + r"\s+([^)]*)\)", re.IGNORECASE)
    for cmake_file in cmake_files:
        try:
            with open(cmake_file, encoding="utf-8", errors="replace") as f:
                text = f.read()
        except OSError:
            continue
        for match in call.finditer(text):
            args = [a.strip('"') for a in re.sub(r"#[^\n]*", "", match.group(1)).split()]
            if args and args[0] == "NAMES":
                for arg in args[1:]:
                    if arg in keywords:
                        break
                    names.add(arg)
            elif args:
                names.add(args[0])
    return {n for n in names if "$" not in n}


def collect_cache(build_dir, source_dir, used):
    cache = read_cache(build_dir)
    package_dirs = [v for k, (t, v) in cache.items() if k.endswith("_DIR") and t == "PATH" and os.path.isdir(v)]
    cmake_root = cache.get("CMAKE_ROOT", ("", ""))[1]
    cmake_files = [f for d in package_dirs for f in sorted(glob.glob(os.path.join(d, "*.cmake")))]
    cmake_files += sorted(glob.glob(os.path.join(cmake_root, "Modules", "*.cmake"))) if cmake_root else []
    project_lists = [glob.glob(os.path.join(source_dir, depth, "CMakeLists.txt")) for depth in ("", "*", "*/*")]
    cmake_files += [f for found in project_lists for f in sorted(found) if not f.startswith(build_dir + "/")]
    for name, (kind, value) in sorted(cache.items()):
        if kind not in ("FILEPATH", "PATH") or not value.startswith("/") or name in CTEST_DASHBOARD_TOOLS:
            continue
        if name.startswith("CMAKE_INSTALL_") or not os.path.exists(value):
            continue
        reason = "CMake cache %s" % name
        if os.path.isfile(value):
            used.add(value, reason)
        elif name.endswith("_DIR") and glob.glob(os.path.join(value, "*.cmake")):
            for cmake_file in glob.glob(os.path.join(value, "*.cmake")):
                used.add(cmake_file, reason)
        else:
            headers = [os.path.join(value, n) for n in find_path_names(name, cmake_files)]
            headers = [h for h in headers if os.path.isfile(h)]
            for header in headers or [value]:
                used.add(header, reason)
