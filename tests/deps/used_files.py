"""The files the build and the tests use, each with why; and the helpers the collectors share."""
import os
import subprocess

# The CUDA toolkit is optional and not a Debian package: it is not checked.
CUDA_ROOT = "/usr/local/cuda"


class CheckError(Exception):
    """The check could not run (missing build tree, unreadable list...): exit status 2."""


def run(args, cwd=None, check=True):
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise CheckError("'%s' failed (exit %d): %s" % (" ".join(args), result.returncode, result.stderr.strip()))
    return result


class UsedFiles:
    """Files outside the source tree, the build tree and CUDA, each with the reasons it is used."""

    def __init__(self, source_dir, build_dir):
        skip = [source_dir, build_dir, CUDA_ROOT]
        self.skipped_roots = {os.path.realpath(p) for p in skip} | set(skip)
        self.reasons = {}

    def skipped(self, path):
        for candidate in (path, os.path.realpath(path)):
            if any(candidate == root or candidate.startswith(root + "/") for root in self.skipped_roots):
                return True
        return False

    def add(self, path, reason):
        path = os.path.normpath(path)
        if not os.path.exists(path) or self.skipped(path):
            return
        self.reasons.setdefault(path, [])
        if reason not in self.reasons[path]:
            self.reasons[path].append(reason)
