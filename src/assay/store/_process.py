"""Who holds a lease or a lock: ``HOST:PID:LABEL``, and whether that process still runs.

Leases (gc) and locks (one apply per dataset) name their holder this way, so a holder
killed with SIGKILL on this machine is recognised at once, not only after its expiry.
A holder on another machine can only expire.
"""

from __future__ import annotations

import os
import socket

__all__ = ["holder_alive", "holder_id", "holder_parts"]


def holder_id(label: str) -> str:
    """``HOST:PID:LABEL`` for the current process."""
    return f"{socket.gethostname()}:{os.getpid()}:{label}"


def holder_parts(holder: str) -> tuple[str, str, str]:
    """``(host, pid, label)`` of a holder id (pid as text; '' when absent)."""
    host, _, rest = holder.partition(":")
    pid, _, label = rest.partition(":")
    return host, pid, label


def holder_alive(holder: str) -> bool:
    """Whether the holder may still run (False only for a dead process on this host)."""
    host, pid_text, _ = holder_parts(holder)
    if host != socket.gethostname() or not pid_text.isdigit():
        return True  # another machine: only the expiry tells
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. EPERM: it exists
        return True
    return True
