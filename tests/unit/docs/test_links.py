"""Shipped docs link only to what ships: every relative link in README.md and docs/ points at a file (or directory)
of the collection that exists and that galaxy.yml's build_ignore does not leave out of the tarball.

From an installed copy there is no galaxy.yml: only what shipped is there, so existence is the whole check.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import pytest
import yaml

COLLECTION = Path(__file__).resolve().parents[3]
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^ {0,3}\[[^\]]+\]:\s+<?(\S+?)>?(?:\s+.*)?$")
FENCE = re.compile(r"^\s*(```|~~~)")
EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")  # https:, mailto:, ...


def markdown_files():
    return [COLLECTION / "README.md"] + sorted((COLLECTION / "docs").rglob("*.md"))


def links(path):
    """(line number, target) of every link of a markdown file, outside fenced code blocks and code spans."""
    found, in_fence = [], False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        text = re.sub(r"`[^`]*`", "", line)
        found += [(number, match.group(1)) for match in INLINE_LINK.finditer(text)]
        reference = REFERENCE_LINK.match(text)
        if reference:
            found.append((number, reference.group(1)))
    return found


def build_ignore():
    galaxy = COLLECTION / "galaxy.yml"
    if not galaxy.exists():
        return None
    return yaml.safe_load(galaxy.read_text(encoding="utf-8")).get("build_ignore") or []


def ignored_by(relative, patterns):
    """The build_ignore pattern that leaves ``relative`` (a posix path in the collection) out, or None.

    As ansible-galaxy applies them: a pattern matches a file or a directory, and a directory left out takes
    everything under it.
    """
    parts = relative.split("/")
    for depth in range(1, len(parts) + 1):
        candidate = "/".join(parts[:depth])
        for pattern in patterns:
            if fnmatch.fnmatch(candidate, pattern):
                return pattern
    return None


def heading_anchors(path):
    """GitHub's anchors of a markdown file's headings."""
    anchors = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading:
            slug = re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower()).replace(" ", "-")
            anchors.add(slug)
    return anchors


def problems_of(path, patterns):
    problems = []
    for number, target in links(path):
        if EXTERNAL.match(target):
            continue
        where = "%s:%d: %s" % (path.relative_to(COLLECTION), number, target)
        file_part, anchor = (target.split("#", 1) + [""])[:2]
        linked = (path.parent / file_part).resolve() if file_part else path
        try:
            relative = linked.relative_to(COLLECTION).as_posix()
        except ValueError:
            problems.append("%s points outside the collection" % where)
            continue
        if not linked.exists():
            problems.append("%s does not exist" % where)
            continue
        pattern = ignored_by(relative, patterns or [])
        if pattern:
            problems.append("%s is left out of the tarball by build_ignore %r" % (where, pattern))
            continue
        if anchor and linked.suffix == ".md" and anchor not in heading_anchors(linked):
            problems.append("%s: no heading #%s in %s" % (where, anchor, relative))
    return problems


def test_ignored_by_follows_ansible_galaxy():
    patterns = ["tests/integration", "*.tar.gz", ".venv", "pytest.ini"]
    assert ignored_by("tests/integration/test_examples.py", patterns) == "tests/integration"
    assert ignored_by("tests/unit/conftest.py", patterns) is None
    assert ignored_by("pytest.ini", patterns) == "pytest.ini"
    assert ignored_by("cloudstack_vmware-safe_migration-0.1.0.tar.gz", patterns) == "*.tar.gz"
    assert ignored_by("docs/playbooks.md", patterns) is None


def test_links_are_found():
    """The extraction works: README links to docs/playbooks.md, and a link inside a code block is not one."""
    assert "docs/playbooks.md" in [link[1] for link in links(COLLECTION / "README.md")]
    assert heading_anchors(COLLECTION / "docs" / "cs_volume_migrate_safe.md") >= {"detached-volumes"}


@pytest.mark.parametrize("path", markdown_files(), ids=lambda path: path.relative_to(COLLECTION).as_posix())
def test_shipped_docs_link_only_to_what_ships(path):
    assert problems_of(path, build_ignore()) == []
