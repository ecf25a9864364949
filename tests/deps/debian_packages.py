"""Which Debian package owns a file (dpkg), and which packages a list brings (apt-cache)."""
import os
import re

from used_files import run

# Debian 12 merges /bin, /sbin and /lib* into /usr; dpkg knows each file under the name
# its package shipped, which may be either spelling.
MERGED_USR_DIRS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")


def merged_usr_aliases(path):
    parts = path.split("/")
    if len(parts) > 2 and parts[1] in MERGED_USR_DIRS:
        return [path, "/usr" + path]
    if len(parts) > 3 and parts[1] == "usr" and parts[2] in MERGED_USR_DIRS:
        return [path, path[len("/usr"):]]
    return [path]


def symlink_chain(path):
    """The path, each symlink target in turn, and the real file at the end."""
    chain, current = [path], path
    for _ in range(40):
        if not os.path.islink(current):
            break
        current = os.path.normpath(os.path.join(os.path.dirname(current), os.readlink(current)))
        chain.append(current)
    real = os.path.realpath(path)
    if real not in chain:
        chain.append(real)
    return chain


def owners_of(paths):
    """dpkg -S for many paths at once: {path: set of package names}."""
    owners = {}
    paths = sorted(set(paths))
    for start in range(0, len(paths), 500):
        output = run(["dpkg-query", "-S"] + paths[start:start + 500], check=False).stdout
        for line in output.splitlines():
            if line.startswith("diversion by"):
                continue
            packages, sep, path = line.partition(": ")
            if sep:
                owners.setdefault(path, set()).update(p.strip().split(":")[0] for p in packages.split(","))
    return owners


def installed_packages():
    output = run(["dpkg-query", "-W", "-f", "${Package}\t${db:Status-Status}\t${Essential}\t${Priority}\n"]).stdout
    installed, base = set(), set()
    for line in output.splitlines():
        name, status, essential, priority = (line.split("\t") + ["", "", ""])[:4]
        if status == "installed":
            installed.add(name)
            if essential == "yes" or priority == "required":
                base.add(name)
    return installed, base


def dependency_edges(roots):
    """{package: the packages its Depends / Pre-Depends name, with their providers}, recursively.

    apt-cache works from dpkg's status file for installed packages, so this needs no apt
    lists. It recurses into every alternative and every provider of a virtual package."""
    output = run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
                  "--no-breaks", "--no-replaces", "--no-enhances"] + sorted(roots)).stdout
    edges, current, last_target = {}, None, None
    for line in output.splitlines():
        if not line.startswith(" "):
            current = line.strip().strip("<>").split(":")[0]
            edges.setdefault(current, set())
            continue
        match = re.match(r"^ [ |](?:Pre)?Depends: <?([^>\s]+)>?", line)
        if match and current is not None:
            last_target = match.group(1).split(":")[0]
            edges[current].add(last_target)
        elif line.startswith("    ") and current is not None and last_target is not None:
            edges[current].add(line.strip().split(":")[0])  # a provider of the dependency above
    return edges


def reachable(roots, edges, installed):
    """Installed packages reachable from roots. Of the alternatives and providers only those
    installed here are followed: a package that is not installed owns no file in use."""
    closure, stack = set(), [r for r in roots if r in installed]
    while stack:
        package = stack.pop()
        if package in closure or package not in installed:
            continue
        closure.add(package)
        stack.extend(edges.get(package, ()))
    return closure


def smallest_addition(missing, installed):
    """The missing packages that no other missing package depends on: adding these brings the rest."""
    edges = dependency_edges(missing)
    brought = {p: reachable([p], edges, installed) - {p} for p in missing}
    return sorted(p for p in missing if not any(p in brought[q] for q in missing if q != p))
