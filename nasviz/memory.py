"""Memory figures of this process from ``/proc`` (Linux): the resident size now and its peak."""

from __future__ import annotations


def proc_status_kib(field: str) -> int:
    """A memory figure of this process from ``/proc/self/status`` in KiB (``VmRSS``: resident now;
    ``VmHWM``: the resident peak). Linux only; a field the kernel does not report raises KeyError."""
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise KeyError(f'{field} not in /proc/self/status')


def reset_peak_rss() -> bool:
    """Reset the kernel's resident-peak counter (``VmHWM``) of this process by writing 5 to
    ``/proc/self/clear_refs``; False where that is not allowed (then ``VmHWM`` is the peak since start)."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False
