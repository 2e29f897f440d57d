"""The entry point of a worker process: it ties its life to its parent's before it imports
anything heavy (the search's modules take a second to import; a parent killed meanwhile must
not leave the worker running on), then runs the worker loop it was given."""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any


def main(conn: Any, parent: int, job: bytes) -> None:
    """Die with ``parent``, then call ``target(conn, *args)`` of the pickled ``job``."""
    die_with_parent(parent)
    import pickle

    # ``job`` was pickled by the parent that started this process (multiprocessing pickles
    # every argument anyway): it is never read from a file
    target, args = pickle.loads(job)
    target(conn, *args)


def die_with_parent(parent: int) -> None:
    """End this process when ``parent`` ends, however it ends (SIGKILL included): the kernel's
    parent-death signal on Linux, else a thread watching for a new parent."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        armed = libc.prctl(1, signal.SIGKILL, 0, 0, 0) == 0  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        armed = False
    if os.getppid() != parent:  # it ended before the signal was armed
        os._exit(1)
    if armed:
        return

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(1)

    threading.Thread(target=watch, name="nas-search-parent-watch", daemon=True).start()
