"""The Docker build context holds no secrets and no local state, and the image runs unprivileged.

There is no Docker engine here: the context is computed with Docker's own `.dockerignore`
rules (moby's patternmatcher: patterns anchored at the context root, `*` and `?` within one
path segment, `**` across segments, `!` re-includes, the last matching pattern wins, and a
pattern that matches a directory excludes everything below it).
"""

import os
import re
from pathlib import Path, PurePosixPath

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERIGNORE = ROOT / ".dockerignore"

SECRETS_AND_LOCAL_STATE = [
    ".env",
    ".env.local",
    ".env.production",
    "data/db.sqlite3",
    "data/demo-login.txt",
    "data/broker/queue/message.msg",
    ".git/config",
    ".git/objects/ab/cdef",
    ".venv/bin/python",
    "media/sandbox/sevdesk/invoice.pdf",
    "control/celery.exchange",
    "staticfiles/css/app.css",
    "core/__pycache__/crypto.cpython-311.pyc",
    ".pytest_cache/v/cache/lastfailed",
    ".ruff_cache/0.6.0/123",
    "test-artifacts/screenshot.png",
    "billbee_sevdesk.egg-info/PKG-INFO",
]
# What the Dockerfile copies and the image runs with.
NEEDED = [
    "Dockerfile",
    "pyproject.toml",
    "README.md",
    "manage.py",
    "billbee_sevdesk/settings.py",
    "core/crypto.py",
    "sandbox/sevdesk/models.py",
    "templates/base.html",
    "static/css/app.css",
    "locale/de/LC_MESSAGES/django.mo",
]


def _pattern_regex(pattern: str) -> re.Pattern:
    """moby/patternmatcher's translation of one pattern into a regular expression."""
    out, i = "^", 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            if pattern[i + 1 : i + 2] == "*":
                i += 1
                if pattern[i + 1 : i + 2] == "/":
                    i += 1
                out += ".*" if i + 1 >= len(pattern) else "(.*/)?"
            else:
                out += "[^/]*"
        elif char == "?":
            out += "[^/]"
        elif char == "\\" and i + 1 < len(pattern):
            i += 1
            out += re.escape(pattern[i])
        elif char == "[":
            end = pattern.find("]", i)
            out += pattern[i : end + 1] if end > i else re.escape(char)
            i = end if end > i else i
        else:
            out += re.escape(char)
        i += 1
    return re.compile(out + "$")


def parse_dockerignore(text: str) -> list[tuple[bool, re.Pattern]]:
    """(is_exception, regex) per pattern, in file order."""
    patterns = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exception = line.startswith("!")
        line = line[1:].strip() if exception else line
        cleaned = os.path.normpath(line).replace(os.sep, "/").lstrip("/")
        if cleaned == ".":
            continue
        patterns.append((exception, _pattern_regex(cleaned)))
    return patterns


def is_excluded(path: str, patterns: list[tuple[bool, re.Pattern]]) -> bool:
    parts = PurePosixPath(path).parts
    candidates = [path] + ["/".join(parts[: n + 1]) for n in range(len(parts) - 1)]
    excluded = False
    for exception, regex in patterns:
        if exception != excluded:  # only a pattern that could change the verdict counts
            continue
        if any(regex.match(candidate) for candidate in candidates):
            excluded = not exception
    return excluded


def build_context(root: Path, patterns) -> set[str]:
    """The files `docker build` would send from ``root``."""
    has_exceptions = any(exception for exception, _ in patterns)
    sent = set()
    for directory, subdirs, files in os.walk(root):
        relative = Path(directory).relative_to(root).as_posix()
        prefix = "" if relative == "." else f"{relative}/"
        if not has_exceptions:
            subdirs[:] = [d for d in subdirs if not is_excluded(prefix + d, patterns)]
        sent |= {prefix + name for name in files if not is_excluded(prefix + name, patterns)}
    return sent


@pytest.fixture(scope="module")
def patterns():
    assert DOCKERIGNORE.is_file(), "no .dockerignore: `COPY . .` sends the whole work tree"
    return parse_dockerignore(DOCKERIGNORE.read_text())


def test_the_matcher_follows_dockers_rules():
    rules = parse_dockerignore("data\n.env*\n!.env.example\n**/__pycache__\n*.pyc\n")

    assert is_excluded("data/db.sqlite3", rules)
    assert not is_excluded("orders/data/fixture.json", rules)  # anchored at the root
    assert is_excluded(".env", rules) and is_excluded(".env.prod", rules)
    assert not is_excluded(".env.example", rules)
    assert is_excluded("core/__pycache__/x.pyc", rules)
    assert is_excluded("x.pyc", rules) and not is_excluded("core/x.pyc", rules)


@pytest.mark.parametrize("path", SECRETS_AND_LOCAL_STATE)
def test_secrets_and_local_state_stay_out_of_the_build_context(patterns, path):
    assert is_excluded(path, patterns)


@pytest.mark.parametrize("path", NEEDED)
def test_what_the_image_needs_is_in_the_build_context(patterns, path):
    assert not is_excluded(path, patterns)


def test_the_build_context_of_this_work_tree_holds_no_secret(patterns, tmp_path):
    context = build_context(ROOT, patterns)

    leaked = sorted(
        path
        for path in context
        if path.startswith((".env", "data/", ".git/", ".venv/", "media/", "control/"))
    )
    assert leaked == []
    assert {"manage.py", "pyproject.toml", "billbee_sevdesk/settings.py"} <= context


def test_a_work_tree_with_a_filled_in_env_file_does_not_send_it(patterns, tmp_path):
    (tmp_path / ".env").write_text("SECRET_KEY=very-secret\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "demo-login.txt").write_text("demo s3cret\n")
    (tmp_path / "manage.py").write_text("")

    assert build_context(tmp_path, patterns) == {"manage.py"}


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def test_the_image_runs_as_an_unprivileged_user():
    users = [rest for keyword, rest in _dockerfile_instructions() if keyword == "USER"]

    assert users, "no USER directive: the container runs as root"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    keywords = [keyword for keyword, _ in _dockerfile_instructions()]
    assert keywords.index("USER") > max(
        i for i, keyword in enumerate(keywords) if keyword in {"RUN", "COPY", "ADD"}
    ), "USER must come after the last build step, so the running process is not root"
