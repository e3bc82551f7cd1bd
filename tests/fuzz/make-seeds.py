#!/usr/bin/env python3
"""make-seeds.py BUILD PKI: remake the seed corpora of tests/fuzz.

BUILD is a tree configured with --enable-fuzzing (its tests/fuzz/fuzz-module
records the module seeds), PKI a test PKI from tests/sim/make-pki.sh. The
seeds are real exchanges with the simulated phone:

  corpus-module  the relying party's visit of fuzz-module, recorded from
                 the simulated phone (card and Android, several settings);
  corpus-cert    the PKI's certificates and the token-info EFs of each
                 model, as a phone serves them;
  corpus-apdu    single commands of fuzz-apdu answered with answers taken
                 from those recordings (a certificate chunk, token info, a
                 signature, PIN tries), and the 61xx/6Cxx forms of them.
"""
import os
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))


def answers(seed):
    """The answers of a recorded stream (see stream.h), whole."""
    out, p = [], 1
    while p < len(seed):
        k = seed[p]
        p += 1
        if k == 0xFD:
            n = seed[p] << 8 | seed[p + 1]
            out.append(seed[p + 2:p + 2 + n])
            p += 2 + n
        elif k < 0xFD:
            n = (256 if k == 0xFC else k) + 2
            out.append(seed[p:p + n])
            p += n
        else:
            p += 2 if k == 0xFE else 0
    return out


def encode(resp):
    n = len(resp) - 2
    if 0 <= n <= 0xFB:
        return bytes([n]) + resp
    if n == 256:
        return b"\xfc" + resp
    return b"\xfd" + len(resp).to_bytes(2, "big") + resp


def write(corpus, name, data):
    os.makedirs(os.path.join(here, corpus), exist_ok=True)
    with open(os.path.join(here, corpus, name), "wb") as f:
        f.write(data)


def main():
    build, pki = sys.argv[1], sys.argv[2]
    module_dir = os.path.join(here, "corpus-module")
    env = dict(os.environ, KZ_FUZZ_RECORD=module_dir, KZ_FUZZ_PKI=pki)
    os.makedirs(module_dir, exist_ok=True)
    subprocess.run([os.path.join(build, "tests/fuzz/fuzz-module")], env=env, check=True)

    for name in ("auth.der", "authca.der", "sign.der"):
        with open(os.path.join(pki, name), "rb") as f:
            write("corpus-cert", name, f.read())
    for info in (b"JPKIAPICCTOKEN2", b"JPKIAPGPSETOKEN", b"JPKIAPIOSTOKEN"):
        write("corpus-cert", "info-" + info.decode()[6:].lower(), info.ljust(32, b" "))

    with open(os.path.join(module_dir, "android-00"), "rb") as f:
        real = answers(f.read())
    info = next(a for a in real if len(a) == 34)
    chunk = next(a for a in real if len(a) == 258)
    sig = [a for a in real if len(a) == 258][-1]  # the last full answer: a signature
    ok, tries = b"\x90\x00", b"\x63\xc3"
    seeds = {
        "read": b"\x00" + encode(chunk),
        "read-6c": b"\x00" + encode(b"\x6c\x20") + encode(chunk[:32] + ok),
        "read-61": b"\x00" + encode(b"\x61\x00") + encode(chunk),
        "info": b"\x01" + encode(info),
        "verify": b"\x03" + encode(tries),
        "sign": b"\x04" + encode(sig),
        "sign-61": b"\x14" + encode(sig[:100] + b"\x61\x9c") + encode(sig[100:]),
        "select": b"\x06" + encode(ok),
        "tries": b"\x07" + encode(ok) + encode(ok) + encode(tries),
        "verify-op": b"\x48" + encode(ok) + encode(ok),
        "change": b"\x49" + encode(ok) + encode(ok),
        "sign-op": b"\x4a" + encode(ok) + encode(sig),
    }
    for name, data in seeds.items():
        write("corpus-apdu", name, data)


if __name__ == "__main__":
    main()
