"""The addresses a phone can open: hostname.local (mDNS, announced by avahi) and each LAN
address of this machine, for the log line at start and the wizard's last step."""

from __future__ import annotations

import fcntl
import ipaddress
import socket
import struct

SIOCGIFADDR = 0x8915  # Linux: an interface's IPv4 address


def interface_addresses() -> list[str]:
    """This machine's IPv4 addresses on its network interfaces, loopback left out, in the
    kernel's interface order (Linux; empty where the ioctl is not available)."""
    found: list[str] = []
    try:
        names = [name for _, name in socket.if_nameindex()]
    except OSError:
        return found
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for name in names:
            request = struct.pack("256s", name.encode()[:15])
            try:
                answer = fcntl.ioctl(probe.fileno(), SIOCGIFADDR, request)
            except OSError:  # no IPv4 address, or the interface is down
                continue
            address = socket.inet_ntoa(answer[20:24])
            if not ipaddress.ip_address(address).is_loopback and address not in found:
                found.append(address)
    return found


def phone_urls(host: str, port: int, hostname: str | None = None) -> list[str]:
    """The URLs a phone on the LAN can use for a server listening on host:port; empty when it
    listens on loopback only (then no phone can reach it)."""
    if ipaddress.ip_address(host).is_loopback:
        return []
    if host not in ("0.0.0.0", "::"):
        literal = f"[{host}]" if ":" in host else host
        return [f"http://{literal}:{port}"]
    short = (hostname or socket.gethostname()).split(".")[0].lower()
    return [f"http://{short}.local:{port}"] + [
        f"http://{address}:{port}" for address in interface_addresses()
    ]
