"""``python -m devstack.child <parent pid> <program> [args...]``: run a program that dies with
the devstack.

Linux's ``PR_SET_PDEATHSIG`` makes the kernel send SIGTERM to this process when its parent
dies, however it dies (``kill -9`` included); it survives ``execv``, so the program that
replaces this one (``chalice local``) inherits it.  Done here rather than in a
``preexec_fn``, which is unsafe in a process that has threads (the devstack has many).  If the
parent died before the flag was set, the program is not started at all.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def main(argv: list[str]) -> int:
    parent, program = int(argv[0]), argv[1:]
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            print("devstack.child: prctl(PR_SET_PDEATHSIG) failed", file=sys.stderr)
    if os.getppid() != parent:
        return 1  # the devstack is already gone
    os.execv(program[0], program)  # noqa: S606 - our own argv, no shell
    return 1  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
