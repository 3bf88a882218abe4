#!/usr/bin/env python3
"""TCP ends that abort (RST) instead of closing, for the tunnel tests.

  tcpabort.py client HOST PORT N   connect, send N bytes, then reset;
                                   prints "reset sent"
  tcpabort.py server PORT N        accept one connection at a time on
                                   127.0.0.1:PORT, read N bytes, reset it
  tcpabort.py read HOST PORT N     connect, send N bytes, then read until
                                   the end; prints "eof" or "reset"

A reset is close() with SO_LINGER {on, 0 s}.  Every wait is bounded.
"""
import socket
import struct
import sys


def abort(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def send_n(s, n):
    chunk = b"x" * 65536
    while n > 0:
        k = s.send(chunk[: min(n, len(chunk))])
        n -= k


def main():
    mode = sys.argv[1]
    if mode == "client":
        s = socket.create_connection((sys.argv[2], int(sys.argv[3])), 10)
        send_n(s, int(sys.argv[4]))
        abort(s)
        print("reset sent")
    elif mode == "server":
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", int(sys.argv[2])))
        ls.listen(16)
        while True:
            s, _ = ls.accept()
            s.settimeout(30)
            want = int(sys.argv[3])
            try:
                while want > 0:
                    b = s.recv(min(want, 65536))
                    if not b:
                        break
                    want -= len(b)
            except OSError:
                pass
            abort(s)
    elif mode == "read":
        s = socket.create_connection((sys.argv[2], int(sys.argv[3])), 10)
        s.settimeout(20)
        try:
            send_n(s, int(sys.argv[4]))
            while s.recv(65536):
                pass
            print("eof")
        except ConnectionResetError:
            print("reset")
        except socket.timeout:
            print("timeout")
    return 0


if __name__ == "__main__":
    sys.exit(main())
