"""What the tests run: the programs their scripts call and the Python modules they import
(with every module file and shared library those imports load)."""
import json
import os
import re
import shutil
import tempfile

from used_files import run

SHELL_WORDS = {
    "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "for", "in", "case", "esac", "function",
    "!", "time", "exec", "command", "-v", "builtin", "{", "}", "[", "[[", "]]", "test", "echo", "printf", "read",
    "cd", "exit", "return", "set", "local", "declare", "shift", "wait", "kill", "true", "false", "trap", "source",
    ".", "eval", "export", "unset", "break", "continue", "type", "hash", "pwd", "let", "readonly", "shopt",
    "getopts", "ulimit", "umask", "jobs", "mapfile", "readarray", ":"}

# Modules that other packages' .pth files load at interpreter start-up (setuptools'
# _distutils_hack) are not needed by the tests: on a fresh machine they are simply absent.
# So of the modules present before the tests' imports, only the standard library counts.
PYTHON_PROBE = r"""
import importlib, json, os, sys, sysconfig
stdlib = sysconfig.get_paths()["stdlib"] + "/"
at_start_up = {name for name, m in sys.modules.items()
               if not (getattr(m, "__file__", None) or stdlib).startswith(stdlib)}
unimportable = []
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except Exception as error:
        unimportable.append("%s (%s)" % (name, error))
files = {os.path.abspath(m.__file__) for name, m in list(sys.modules.items())
         if getattr(m, "__file__", None) and name not in at_start_up}
with open("/proc/self/maps") as maps:
    for line in maps:
        fields = line.split(None, 5)
        if len(fields) == 6 and fields[5].startswith("/") and ".so" in os.path.basename(fields[5]):
            files.add(fields[5].strip())
files.add(os.path.realpath(sys.executable))
print(json.dumps({"files": sorted(files), "unimportable": unimportable}))
"""


def ctest_commands(build_dir):
    """The argument lists of every add_test in the build tree's CTestTestfile.cmake files."""
    commands = []
    for root, _, files in os.walk(build_dir):
        if "CTestTestfile.cmake" in files:
            with open(os.path.join(root, "CTestTestfile.cmake"), encoding="utf-8", errors="replace") as f:
                text = f.read()
                for match in re.finditer(r"^add_test\(\[=\[(.*?)\]=\]\s+(.*?)\)\s*$", text, re.MULTILINE | re.DOTALL):
                    args = [a.replace("\\$", "$").replace('\\"', '"')
                            for a in re.findall(r'"((?:[^"\\]|\\.)*)"', match.group(2))]
                    commands.append((match.group(1), args))
    return commands


def shell_commands(text):
    """The command words of a shell script: first word of each pipeline element, after keywords."""
    functions = set(re.findall(r"^\s*([\w-]+)\s*\(\)", text, re.MULTILINE))
    text = re.sub(r"<<-?\s*'?(\w+)'?.*?\n.*?\n\s*\1\s*\n", "\n", text, flags=re.DOTALL)  # heredoc bodies
    text = text.replace("\\\n", " ")
    words = set(re.findall(r"command\s+-v\s+([\w./+-]+)", text))
    for line in text.splitlines():
        line = re.sub(r"(^|\s)#.*", "", line)
        for segment in re.split(r"\|\||&&|\$\(|[|;&`(){}]", line):
            tokens = segment.split()
            if tokens and tokens[0] in ("for", "select", "case"):
                continue  # `for NAME in ...`: no command in this segment
            for token in tokens:
                token = token.strip("\"'")
                if token in SHELL_WORDS or re.match(r"^\w+=", token) or token.startswith((">", "<", "2>")):
                    continue
                if not token.startswith("$") and token not in functions:
                    words.add(token)
                break
    return words


def python_imports(text):
    modules = set()
    for match in re.finditer(r"^\s*from\s+([A-Za-z_][\w.]*)\s+import\b", text, re.MULTILINE):
        modules.add(match.group(1))
    one_module = r"[A-Za-z_][\w.]*(?:\s+as\s+\w+)?"
    for match in re.finditer(r"^\s*import\s+(%s(?:\s*,\s*%s)*)" % (one_module, one_module), text, re.MULTILINE):
        for part in match.group(1).split(","):
            modules.add(part.split()[0])
    return modules


def shebang_interpreter(path):
    try:
        with open(path, "rb") as f:
            first = f.readline().decode("utf-8", "replace")
    except OSError:
        return None
    if not first.startswith("#!"):
        return None
    words = first[2:].split()
    if len(words) >= 2 and os.path.basename(words[0]) == "env":
        return words[1]
    return words[0] if words else None


def resolve_program(word):
    if "/" in word:
        return word if os.path.isfile(word) and os.access(word, os.X_OK) else None
    return shutil.which(word)


def collect_test_tools(source_dir, build_dir, used, notes):
    """Programs and Python modules the tests use; returns the built programs ctest runs."""
    programs, modules, built = {}, set(), []
    tests_dir = os.path.join(source_dir, "tests")
    scripts = [os.path.join(root, f) for root, _, files in os.walk(tests_dir) for f in files
               if f.endswith((".sh", ".py"))]

    def add_program(word, reason):
        resolved = resolve_program(word)
        if resolved:
            programs.setdefault(resolved, reason)

    def add_script(path, reason):
        interpreter = shebang_interpreter(path)
        if interpreter:
            add_program(interpreter, "interpreter of %s" % os.path.relpath(path, source_dir))

    for name, args in ctest_commands(build_dir):
        if not args:
            continue
        head = args[0]
        reason = "run by test %s" % name
        if head.startswith(build_dir + "/"):
            built.append(head)
        elif head.startswith(source_dir + "/"):
            add_script(head, reason)
        else:
            add_program(head, reason)
            if os.path.basename(head) in ("sh", "bash", "dash") and len(args) > 2 and args[1] == "-c":
                for word in shell_commands(args[2]):
                    if word.startswith(source_dir + "/"):
                        add_script(word, reason)
                    else:
                        add_program(word, reason)
    for script in scripts:
        with open(script, encoding="utf-8", errors="replace") as f:
            text = f.read()
        where = os.path.relpath(script, source_dir)
        add_script(script, where)
        local = os.path.dirname(script)  # the tests' own modules, next to the script, are not packages
        modules |= {m for m in python_imports(text) if not os.path.exists(os.path.join(local, m.split(".")[0] + ".py"))
                    and not os.path.isdir(os.path.join(local, m.split(".")[0]))}
        if script.endswith(".sh"):
            for word in shell_commands(text):
                if not word.startswith(source_dir + "/"):
                    add_program(word, "run by %s" % where)
        for word in re.findall(r"subprocess\.\w+\(\s*\[\s*[\"']([^\"']+)[\"']", text):
            add_program(word, "run by %s" % where)

    for program, reason in programs.items():
        used.add(program, "program: %s" % reason)
    interpreters = sorted(p for p in programs if re.match(r"^python3(\.\d+)?$", os.path.basename(p)))
    for interpreter in interpreters:
        with tempfile.TemporaryDirectory() as empty_dir:  # so that no test folder shadows a module
            result = run([interpreter, "-c", PYTHON_PROBE] + sorted(modules), cwd=empty_dir)
        probe = json.loads(result.stdout)
        for path in probe["files"]:
            used.add(path, "Python module or library loaded by %s for the tests" % interpreter)
        for failure in probe["unimportable"]:
            notes.add("%s cannot import %s (not checked)" % (interpreter, failure))
    return built
