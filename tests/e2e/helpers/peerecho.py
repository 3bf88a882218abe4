#!/usr/bin/env python3
"""A target for the tests: listen on 127.0.0.1:PORT, write each client's
address as the target sees it ("ip port") to FILE, then echo until EOF."""
import socket
import sys
import threading


def serve(c, addr, path):
    with open(path, "w") as f:
        f.write("%s %d\n" % (addr[0], addr[1]))
    while True:
        b = c.recv(65536)
        if not b:
            break
        c.sendall(b)
    c.close()


def main():
    port, path = int(sys.argv[1]), sys.argv[2]
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(16)
    while True:
        c, addr = s.accept()
        threading.Thread(target=serve, args=(c, addr, path), daemon=True).start()


main()
