"""systemd's notification protocol (sd_notify): READY, WATCHDOG, STATUS, STOPPING, RELOADING."""

from __future__ import annotations

import os
import socket


class Notifier:
    """Sends datagrams to ``$NOTIFY_SOCKET``; does nothing when not run under systemd."""

    def __init__(self, address: str | None = None) -> None:
        self.address = address if address is not None else os.environ.get("NOTIFY_SOCKET")
        if self.address and self.address.startswith("@"):
            self.address = "\0" + self.address[1:]  # abstract namespace socket

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def notify(self, *fields: str) -> bool:
        if not self.address:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(self.address)
                sock.sendall("\n".join(fields).encode("utf-8"))
            return True
        except OSError:
            return False

    def watchdog_interval(self) -> float | None:
        """Half the watchdog timeout systemd set for us, in seconds; None when there is none."""
        usec = os.environ.get("WATCHDOG_USEC")
        pid = os.environ.get("WATCHDOG_PID")
        if not usec or (pid and pid != str(os.getpid())):
            return None
        try:
            return int(usec) / 2_000_000
        except ValueError:
            return None
