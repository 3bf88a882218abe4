#!/usr/bin/env python3
"""Ask b0-publish's identity socket (docs/pam.md): send argv[2] (a line,
with "\\n" added unless --raw) to the socket argv[1] and print the answer.
Exit 0 on an answer, 2 if the connection was refused or closed without one.
"""
import socket
import sys


def main():
    raw = "--raw" in sys.argv
    args = [a for a in sys.argv[1:] if a != "--raw"]
    path, line = args[0], args[1]
    data = line.encode() if raw else (line + "\n").encode()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect(path)
    except OSError as e:
        sys.stderr.write("ticketq: connect %s: %s\n" % (path, e.strerror))
        sys.exit(2)
    try:
        s.sendall(data)
    except OSError:
        pass  # refused clients are answered without reading
    out = b""
    while True:
        try:
            b = s.recv(65536)
        except OSError:
            break
        if not b:
            break
        out += b
    if not out:
        sys.exit(2)
    sys.stdout.write(out.decode())


main()
