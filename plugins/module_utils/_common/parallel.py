# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only lookups run side by side: a plan of a hundred volumes is a few hundred API reads."""

from __future__ import annotations

import concurrent.futures

# Lookups at once when the caller gives no concurrency of its own: light for a management server.
LOOKUP_WORKERS = 8


def in_parallel(function, items, workers=LOOKUP_WORKERS):
    """``[function(item) for item in items]``, on up to ``workers`` threads; an exception raised by a call is raised
    here (the first one in the order of ``items``)."""
    items = list(items)
    if workers <= 1 or len(items) <= 1:
        return [function(item) for item in items]
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(workers, len(items)), thread_name_prefix="lookup") as pool:
        return list(pool.map(function, items))


def alongside(side, main):
    """``main()``'s result, with ``side()`` run on a thread of its own meanwhile and ended before this returns (``side``
    None: ``main()`` alone). An exception of either is raised here, ``main``'s first."""
    if side is None:
        return main()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="alongside") as pool:
        side_done = pool.submit(side)
        result = main()
        side_done.result()
    return result
