#!/usr/bin/env python3
"""A tiny HTTPS site that requires a client certificate (stdlib only).

For rp-firefox.sh: the page shows, in large type, the subject and issuer of
the client certificate the server received and the TLS version, so that a
screenshot shows them too; every connection is logged, one line each:
  client-certificate: <subject> | <issuer> | <TLS version>
  handshake-failed: <reason>

usage: rp-https-server.py --port N --cert PEM --key PEM --ca PEM
                          [--tls 1.2|1.3|1.2-1.3] [--log FILE]
Listens on 127.0.0.1 only. --ca is the only CA whose client certificates
are accepted. Stops on SIGTERM.
"""

import argparse
import html
import socketserver
import ssl
import sys

SHORT = {
    "countryName": "C",
    "stateOrProvinceName": "ST",
    "localityName": "L",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "commonName": "CN",
}


def name(rdns):
    return ", ".join(f"{SHORT.get(k, k)}={v}" for rdn in rdns for k, v in rdn)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--tls", default="1.2-1.3", choices=["1.2", "1.3", "1.2-1.3"])
    p.add_argument("--log", default="-")
    a = p.parse_args()

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    ctx.load_verify_locations(cafile=a.ca)
    ctx.verify_mode = ssl.CERT_REQUIRED
    versions = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}
    low, _, high = a.tls.partition("-")
    ctx.minimum_version = versions[low]
    ctx.maximum_version = versions[high or low]

    log = sys.stdout if a.log == "-" else open(a.log, "a", buffering=1, encoding="utf-8")

    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            self.request.settimeout(20)
            try:
                tls = ctx.wrap_socket(self.request, server_side=True)
            except (ssl.SSLError, OSError) as e:
                print(f"handshake-failed: {e}", file=log)
                return
            try:
                cert = tls.getpeercert()
                subject, issuer = name(cert["subject"]), name(cert["issuer"])
                version = tls.version()
                print(f"client-certificate: {subject} | {issuer} | {version}", file=log)
                request = b""
                while b"\r\n\r\n" not in request and len(request) < 65536:
                    chunk = tls.recv(4096)
                    if not chunk:
                        break
                    request += chunk
                body = PAGE.format(
                    subject=html.escape(subject),
                    issuer=html.escape(issuer),
                    version=html.escape(version),
                ).encode()
                tls.sendall(
                    b"HTTP/1.0 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                    + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                    + body
                )
                tls.close()
            except (ssl.SSLError, OSError) as e:
                print(f"connection-failed: {e}", file=log)

    class Server(socketserver.ThreadingTCPServer):
        allow_reuse_address = True
        daemon_threads = True

    with Server(("127.0.0.1", a.port), Handler) as server:
        print(f"listening: 127.0.0.1:{a.port} TLS {a.tls}", file=log)
        server.serve_forever()


PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>kazashi test site</title></head>
<body style="font-family: sans-serif; font-size: 26px; margin: 40px">
<h1>JPKI client certificate received</h1>
<p id="subject">Subject: {subject}</p>
<p id="issuer">Issuer: {issuer}</p>
<p id="protocol">Protocol: {version}</p>
</body></html>
"""

if __name__ == "__main__":
    main()
