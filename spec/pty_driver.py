#!/usr/bin/env python3
"""Drive a program through a pseudo-terminal, for the REPL specs.

usage: pty_driver.py [--timeout S] STEP... -- COMMAND [ARG...]

Steps run in order:
  send:TEXT     write TEXT to the terminal (escapes as in Python strings:
                \\r Enter, \\t Tab, \\x03 Ctrl-C, \\x04 Ctrl-D, \\x1b[A Up)
  expect:REGEX  wait until the output read since the last match matches
  sleep:S       pause S seconds
  eof           wait for the program to end (closes nothing itself)

Everything read from the terminal is written to stdout (carriage returns,
bells and CSI control sequences dropped; expect matches that text too), then a last line "exit: N" or "signal: N". Exit 0 when every step
passed, 1 (after "TIMEOUT: step") when one timed out.
Built on the standard pty module: see pty(7).
"""
import os
import pty
import re
import select
import sys
import time


def clean(data):
    """The output without carriage returns and terminal control sequences."""
    return re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]|\r|\x07", b"", bytes(data))


def main(argv):
    timeout = 10.0
    steps = []
    i = 0
    while i < len(argv) and argv[i] != "--":
        if argv[i] == "--timeout":
            timeout = float(argv[i + 1])
            i += 2
            continue
        steps.append(argv[i])
        i += 1
    command = argv[i + 1:]
    if not command:
        sys.exit("pty_driver: no command")

    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(command[0], command)

    out = bytearray()  # everything read
    pos = 0  # where the next expect starts looking
    failed = None

    def read_some(deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            return False
        try:
            data = os.read(fd, 4096)
        except OSError:  # EIO: the program closed the terminal
            return None
        if not data:
            return None
        out.extend(data)
        return True

    for step in steps:
        kind, _, arg = step.partition(":")
        if kind == "send":
            # Line editors print the prompt, then switch the terminal to
            # raw mode: typing in between would be echoed twice.
            time.sleep(0.1)
            os.write(fd, arg.encode().decode("unicode_escape").encode("latin-1"))
        elif kind == "sleep":
            time.sleep(float(arg))
        elif kind == "expect":
            pattern = re.compile(arg.encode(), re.S)
            deadline = time.monotonic() + timeout
            while True:
                text = clean(out)
                m = pattern.search(text, pos)
                if m:
                    pos = m.end()
                    break
                if not read_some(deadline):
                    failed = step
                    break
            if failed:
                break
        elif kind == "eof":
            deadline = time.monotonic() + timeout
            while True:
                r = read_some(deadline)
                if r is None:
                    break
                if r is False:
                    failed = step
                    break
            if failed:
                break
        else:
            sys.exit("pty_driver: unknown step " + step)

    if not failed:  # collect what is left until the program ends
        deadline = time.monotonic() + timeout
        while read_some(deadline):
            pass
    done, status = os.waitpid(pid, os.WNOHANG)
    if not done:  # still running: a step failed, or it never ended.
        # SIGTERM first, so that the program can clean up (labs).
        os.kill(pid, 15)
        deadline = time.monotonic() + 5
        while not done and time.monotonic() < deadline:
            read_some(time.monotonic() + 0.1)
            done, status = os.waitpid(pid, os.WNOHANG)
        if not done:
            os.kill(pid, 9)
            _, status = os.waitpid(pid, 0)
    sys.stdout.write(clean(out).decode("utf-8", "replace"))
    if failed:
        sys.stdout.write("\nTIMEOUT: " + failed + "\n")
    if os.WIFSIGNALED(status):
        sys.stdout.write("\nsignal: %d\n" % os.WTERMSIG(status))
    else:
        sys.stdout.write("\nexit: %d\n" % os.WEXITSTATUS(status))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
