"""Findings on disk: one reproducer script per signature, and an index of counts.

A finding's *signature* is ``target|kind|key`` (see ``fuzz/engine.py``); for
a crash the kind is ``crash`` and the key the sanitizer's first report line
or the signal.  ``fuzz/findings/<slug>.py`` reproduces it:
``python fuzz/findings/<slug>.py`` from the repository root prints the call
and exits 1 (or dies, for a crash) while the finding stands, 0 once it is
fixed.  ``fuzz/findings/index.json`` counts how many cases showed each
signature.
"""

import hashlib
import json
import os
import pprint
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import REPO_ROOT, values
from .pool import crash_key, signal_name

DEFAULT_DIR = REPO_ROOT / "fuzz" / "findings"

_SCRIPT = '''"""pyconvx fuzz finding: {title}

{message}

The call: {call}
{report}
Run from the repository root:  python {path}
It exits with status 1 (or dies, for a crash) while the finding stands, 0 once fixed.
"""

import os
import sys

# the repository this script lies in, else the one it was written from
sys.path[:0] = [os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir),
                {root!r}]
from fuzz.replay import replay_main  # noqa: E402

TARGET = {target!r}
CASE = {case}

if __name__ == "__main__":
    sys.exit(replay_main(TARGET, CASE))
'''


def slug(signature):
    digest = hashlib.sha1(signature.encode()).hexdigest()[:8]
    text = re.sub(r"[^A-Za-z0-9]+", "-", signature).strip("-")[:80]
    return f"{text}-{digest}"


def _indent(text):
    return "\n".join(("    " + line) if line else "" for line in text.splitlines())


class FindingStore:
    """The findings directory: reproducers and ``index.json``."""

    def __init__(self, directory=DEFAULT_DIR):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.index_path = self.directory / "index.json"
        self.index = json.loads(self.index_path.read_text()) if self.index_path.exists() else {}

    def minimized(self):
        """Signatures that already have a minimal reproducer."""
        return {sig for sig, entry in self.index.items() if entry["minimized"]}

    def add(self, target, kind, key, message, case, *, minimized, count=1, report="",
            describe=None):
        """Record ``count`` more cases of a signature; write its reproducer when it is new,
        or when this case is minimal and the saved one is not.  Returns the entry, with
        ``"new": True`` the first time the signature is seen."""
        signature = f"{target}|{kind}|{key}"
        entry = self.index.get(signature)
        is_new = entry is None
        if is_new:
            entry = {"target": target, "kind": kind, "key": key, "count": 0,
                     "first_seen": time.strftime("%Y-%m-%d %H:%M:%S"), "minimized": False,
                     "file": f"{slug(signature)}.py"}
            self.index[signature] = entry
        entry["count"] += count
        if case is not None and (is_new or (minimized and not entry["minimized"])):
            entry["minimized"] = minimized
            entry["message"] = message
            self._write(entry, signature, message, case, report, describe)
        self.save()
        return {**entry, "new": is_new, "signature": signature}

    def _write(self, entry, signature, message, case, report, describe):
        path = self.directory / entry["file"]
        try:
            call = describe(case) if describe is not None else "(see CASE)"
        except Exception as exc:
            call = f"(no description: {type(exc).__name__})"
        report_text = f"\nKey lines of the worker's log:\n\n{_indent(report)}\n" if report else ""
        relative = os.path.relpath(path, REPO_ROOT)
        path.write_text(_SCRIPT.format(
            title=signature + ("" if entry["minimized"] else " (not minimized)"),
            message=message.replace('"""', "'''"), call=call.replace('"""', "'''"),
            report=report_text.replace('"""', "'''").replace("\\", "\\\\"), path=relative,
            root=str(REPO_ROOT), target=entry["target"],
            case=pprint.pformat(case, width=96, sort_dicts=False)))
        if values.loads(repr(case)) != case:
            raise ValueError(f"case of {signature} does not survive a round trip")

    def save(self):
        fd, temporary = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        with os.fdopen(fd, "w") as handle:
            json.dump(self.index, handle, indent=1, sort_keys=True)
        os.replace(temporary, self.index_path)


# ----------------------------------------------------------------------------- crash minimiser
def _simpler(value):
    """Values one step simpler than ``value`` (smaller ints, plainer arrays)."""
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int):
        for smaller in (0, 1, value // 2, value - 1):
            if 0 <= smaller < value:
                yield smaller
        return
    if isinstance(value, dict) and "$array" in value:
        spec = value["$array"]
        for name, plain in (("layout", "contiguous"), ("values", "normal"), ("seed", 0)):
            if spec[name] != plain:
                yield {"$array": {**spec, name: plain}}
        for axis, size in enumerate(spec["shape"]):
            for smaller in (1, size // 2, size - 1):
                if 1 <= smaller < size:
                    shape = tuple(spec["shape"][:axis]) + (smaller,) + tuple(
                        spec["shape"][axis + 1:])
                    yield {"$array": {**spec, "shape": shape}}
        return
    if isinstance(value, dict):
        if any(k.startswith("$") for k in value):
            return
        for name, item in value.items():
            for simpler in _simpler(item):
                yield {**value, name: simpler}
        return
    if isinstance(value, (tuple, list)):
        for index, item in enumerate(value):
            for simpler in _simpler(item):
                changed = list(value)
                changed[index] = simpler
                yield type(value)(changed)


def crashes_the_same(target, case, key, *, env, timeout):
    """Whether replaying ``case`` in a fresh process crashes with crash key ``key``."""
    with tempfile.NamedTemporaryFile("w", suffix=".case", delete=False) as handle:
        handle.write(f"{target}\n0\n{values.dumps(case)}\n")
        path = handle.name
    try:
        run = subprocess.run([sys.executable, "-m", "fuzz", "replay", "--case-file", path],
                             cwd=str(REPO_ROOT), env=env, capture_output=True, text=True,
                             timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return key == "hang"
    finally:
        os.unlink(path)
    # 1 is a replay's "the finding stands"; a sanitizer that stopped the process
    # exits with 1 too, and says so on stderr
    if run.returncode == 0 or (run.returncode == 1 and "Sanitizer" not in run.stderr):
        return False
    return crash_key(run.stderr, signal_name(run.returncode)) == key


def minimize_crash(target, case, key, *, env, timeout, attempts=40):
    """A smaller case that crashes the same way (greedy, at most ``attempts`` replays).

    Returns ``(case, minimized)``: ``minimized`` is True when the crash was
    reproduced and no simpler candidate within the attempts still showed it.
    """
    if not crashes_the_same(target, case, key, env=env, timeout=timeout):
        return case, False
    tried = 1
    improved = True
    while improved and tried < attempts:
        improved = False
        for candidate in _simpler(case):
            if tried >= attempts:
                return case, False
            tried += 1
            if crashes_the_same(target, candidate, key, env=env, timeout=timeout):
                case, improved = candidate, True
                break
    return case, not improved
