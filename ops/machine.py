"""What the machine must give the servers: a free port, and a program from Debian's packages."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_program(program: str, *packages: str) -> str:
    """The path of `program`; as root, Debian's `packages` (default: the program's name) are
    installed first when it is missing. `scripts/setup-system` installs the suite's beforehand."""
    found = shutil.which(program)
    if found:
        return found
    if os.geteuid() == 0:
        names = packages or (program,)
        install = ["apt-get", "install", "-y", "-q", "--no-install-recommends"]
        install += ["-o", "DPkg::Lock::Timeout=300", *names]
        if subprocess.run(install, capture_output=True).returncode != 0:
            # A fresh machine may have no package lists yet.
            subprocess.run(["apt-get", "update", "-q"], check=True, capture_output=True)
            subprocess.run(install, check=True, capture_output=True)
        found = shutil.which(program)
    if not found:
        raise RuntimeError(
            f"{program} is missing: apt-get install {' '.join(packages or (program,))}"
        )
    return found
