#!/usr/bin/env python3
"""A tiny Marionette client (standard library only) for rp-firefox.sh.

Marionette is Firefox's remote-control protocol (the one geckodriver
speaks): JSON over TCP, each message framed as "<length>:<json>".
A command is [0, id, "Name", {params}], its answer [1, id, error, result].
https://firefox-source-docs.mozilla.org/testing/marionette/Protocol.html

Usage: marionette.py [--port N] [--timeout S] STEP...  where STEP is one of
  wait                 connect, retrying until Firefox listens (bounded)
  chrome:FILE[:ARG...] run FILE's JavaScript in the chrome (browser) context
                       with ARGs as arguments[]; print its result as JSON
  content:FILE[:ARG..] the same in the content (page) context
  navigate:URL         load URL; a load that ends on an error page prints
                       "navigate-error: <message>" instead of failing
  text:FILE            write the page's visible text (body.innerText) to FILE
  title                print the page's title
  screenshot:FILE      write a PNG of the viewport to FILE
  quit                 ask Firefox to quit
All steps of one invocation share one WebDriver session. Every socket read
has a deadline (--timeout), so a wedged browser fails the step, never hangs.
"""

import base64
import json
import socket
import sys
import time


class MarionetteError(Exception):
    pass


class Marionette:
    def __init__(self, host, port, timeout):
        self.host, self.port, self.timeout = host, port, timeout
        self.sock = None
        self.buf = b""
        self.msgid = 0

    def connect(self, patience):
        deadline = time.monotonic() + patience
        while True:
            try:
                self.sock = socket.create_connection((self.host, self.port), timeout=2)
                break
            except OSError as e:
                if time.monotonic() > deadline:
                    raise MarionetteError(f"no Marionette on {self.host}:{self.port}: {e}")
                time.sleep(0.2)
        self.sock.settimeout(self.timeout)
        hello = self._read()
        if hello.get("applicationType") != "gecko":
            raise MarionetteError(f"unexpected greeting {hello!r}")

    def _read(self):
        while b":" not in self.buf:
            self._fill()
        head, _, rest = self.buf.partition(b":")
        length = int(head)
        self.buf = rest
        while len(self.buf) < length:
            self._fill()
        body, self.buf = self.buf[:length], self.buf[length:]
        return json.loads(body)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise MarionetteError("Firefox closed the connection")
        self.buf += chunk

    def call(self, name, params=None):
        self.msgid += 1
        data = json.dumps([0, self.msgid, name, params or {}]).encode()
        self.sock.sendall(str(len(data)).encode() + b":" + data)
        while True:
            msg = self._read()
            if msg[0] == 1 and msg[1] == self.msgid:
                break
        if msg[2]:
            err = msg[2]
            raise MarionetteError(f"{name}: {err.get('error')}: {err.get('message')}")
        result = msg[3]
        if isinstance(result, dict) and set(result) == {"value"}:
            return result["value"]
        return result


def run_script(m, context, spec):
    path, *args = spec.split(":")
    with open(path, encoding="utf-8") as f:
        script = f.read()
    m.call("Marionette:SetContext", {"value": context})
    try:
        result = m.call(
            "WebDriver:ExecuteScript",
            {"script": script, "args": args, "scriptTimeout": int(m.timeout * 1000)},
        )
    finally:
        m.call("Marionette:SetContext", {"value": "content"})
    print(json.dumps(result, ensure_ascii=False))


def main(argv):
    port, timeout = 2828, 30.0
    steps = []
    it = iter(argv)
    for a in it:
        if a == "--port":
            port = int(next(it))
        elif a == "--timeout":
            timeout = float(next(it))
        else:
            steps.append(a)
    if not steps:
        print(__doc__, file=sys.stderr)
        return 2
    m = Marionette("127.0.0.1", port, timeout)
    m.connect(patience=timeout)
    m.call(
        "WebDriver:NewSession",
        {
            "capabilities": {
                "alwaysMatch": {
                    "acceptInsecureCerts": False,
                    "timeouts": {"pageLoad": int(timeout * 1000), "script": int(timeout * 1000)},
                }
            }
        },
    )
    for step in steps:
        verb, _, arg = step.partition(":")
        if verb == "wait":
            print("marionette: connected")
        elif verb in ("chrome", "content"):
            run_script(m, verb, arg)
        elif verb == "navigate":
            try:
                m.call("WebDriver:Navigate", {"url": arg})
                print(f"navigated: {arg}")
            except MarionetteError as e:
                print(f"navigate-error: {e}")
        elif verb == "text":
            text = m.call(
                "WebDriver:ExecuteScript",
                {"script": "return document.body ? document.body.innerText : '';", "args": []},
            )
            with open(arg, "w", encoding="utf-8") as f:
                f.write(text)
        elif verb == "title":
            print(m.call("WebDriver:GetTitle"))
        elif verb == "screenshot":
            png = base64.b64decode(m.call("WebDriver:TakeScreenshot", {"full": False}))
            with open(arg, "wb") as f:
                f.write(png)
        elif verb == "quit":
            try:
                m.call("Marionette:Quit", {"flags": ["eForceQuit"]})
            except MarionetteError:
                pass  # the browser may close the socket before answering
            return 0
        else:
            raise MarionetteError(f"unknown step {step!r}")
    try:
        m.call("WebDriver:DeleteSession")
    except MarionetteError:
        pass
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except (MarionetteError, OSError, ValueError) as e:
        print(f"marionette.py: {e}", file=sys.stderr)
        sys.exit(1)
