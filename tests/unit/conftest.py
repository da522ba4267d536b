"""Lets ``pytest tests/unit`` import the collection as ``ansible_collections.cloudstack_vmware.safe_migration``.

From an installed copy the collection already lies in an ``ansible_collections/<namespace>/<name>`` tree; from a
clone it is reached through the link that scripts/setup.sh makes in ``.venv/collections``.
"""

from __future__ import annotations

import sys
from pathlib import Path

COLLECTION = Path(__file__).resolve().parents[2]


def _collections_root():
    if COLLECTION.parent.parent.name == "ansible_collections":
        return COLLECTION.parent.parent.parent
    linked = COLLECTION / ".venv" / "collections"
    return linked if (linked / "ansible_collections").is_dir() else None


ROOT = _collections_root()
if ROOT is not None and str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
