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
  navigate:URL         load URL and wait for it (or its error page) to
                       finish loading; print "loaded: <document URI>"
  text:FILE            write the page's visible text (body.innerText) to FILE
  title                print the page's title
  screenshot:FILE      write a PNG of the viewport to FILE
  quit                 ask Firefox to quit
All steps of one invocation share one WebDriver session. Every socket read
has a deadline (--timeout), so a wedged browser fails the step, never hangs.
(WebDriver's own dialog commands do not handle Firefox's password prompt,
"promptPassword": rp-firefox.sh answers it from chrome context instead.)
"""

import base64
import json
import socket
import sys
import time
import urllib.parse


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
    deadline = time.monotonic() + m.timeout
    try:
        while True:
            try:
                result = m.call(
                    "WebDriver:ExecuteScript",
                    {"script": script, "args": args},
                )
                break
            except MarionetteError as e:
                # A dialog is open (being answered by an earlier script):
                # try again shortly, within the deadline.
                if "unexpected alert open" not in str(e) or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
    finally:
        m.call("Marionette:SetContext", {"value": "content"})
    print(json.dumps(result, ensure_ascii=False))


def content_script(m, script, settling=False):
    """Run script (which returns a value) in the page. A dialog that opens
    meanwhile (a token password prompt, answered or cancelled by the test)
    only delays it: WebDriver then answers "unexpected alert open", or null
    for a script that a dialog interrupted; both are tried again."""
    deadline = time.monotonic() + m.timeout
    while True:
        try:
            result = m.call("WebDriver:ExecuteScript", {"script": script, "args": []})
            if result is not None:
                return result
        except MarionetteError as e:
            # While a page is being replaced, evaluation in it may also
            # fail outright (Firefox answers "javascript error ...
            # evalInSandbox"): settling=True tries again then too.
            if "unexpected alert open" not in str(e) and not settling:
                raise
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise MarionetteError(f"no answer from the page within {m.timeout} s")
        time.sleep(0.1)


def navigate(m, url):
    """Load url and wait until it has loaded, or its error page has.

    WebDriver's Navigate returns early when a dialog opens during the load
    (Firefox asks for token passwords while it picks a client certificate),
    so the load is followed to its end here. Starting from about:blank
    tells the new document from the old one."""
    m.call("WebDriver:Navigate", {"url": "about:blank"})
    note = ""
    try:
        m.call("WebDriver:Navigate", {"url": url})
    except MarionetteError as e:
        note = f" ({e})"
    quoted = urllib.parse.quote(url, safe="/")
    deadline = time.monotonic() + m.timeout
    while True:
        uri, state = content_script(
            m, "return [document.documentURI, document.readyState];", settling=True
        )
        if uri.startswith(url) and state == "complete":
            break
        # Error pages (about:neterror, about:certerror) stay "interactive".
        if uri.startswith("about:") and quoted in uri and state != "loading":
            break
        if time.monotonic() > deadline:
            raise MarionetteError(f"{url} did not load (at {uri}, {state}){note}")
        time.sleep(0.1)
    return f"loaded: {uri}"


def screenshot(m):
    """A PNG of the viewport. Right after a load the compositor may not have
    painted yet (headless): try again for a few seconds."""
    deadline = time.monotonic() + min(m.timeout, 5)
    while True:
        try:
            return base64.b64decode(m.call("WebDriver:TakeScreenshot", {"full": False}))
        except MarionetteError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.2)


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
                    # A dialog the test answers itself (the token password
                    # prompt) must not be dismissed behind its back.
                    "unhandledPromptBehavior": "ignore",
                    # Below the socket deadline, so that a page that
                    # never loads is reported by Firefox, not cut off.
                    "timeouts": {
                        "pageLoad": int(timeout * 600),
                        "script": int(timeout * 600),
                    },
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
            print(navigate(m, arg))
        elif verb == "text":
            text = content_script(m, "return document.body ? document.body.innerText : '';")
            with open(arg, "w", encoding="utf-8") as f:
                f.write(text)
        elif verb == "title":
            print(m.call("WebDriver:GetTitle"))
        elif verb == "screenshot":
            png = screenshot(m)
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
