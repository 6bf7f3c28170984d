"""Every `hvmon ...` command line README.md shows parses as written: the global options,
the chain, each command's own arguments. The docs cannot drift from the CLI.

A line is taken from README's indented or fenced examples; `PORT` and the other
placeholders get a value, `[...]` is tried both without and with its contents, and
`a | b` alternatives after a command each stand for a command of their own. Parsing is
what a board-less machine can check for every line; commands that need no board are also
run (their `--help`, or `help`)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from hvmon.ui.cli import build_parser
from hvmon.ui.commands import HelpShown, lookup, split_chain

REPO = Path(__file__).resolve().parents[2]
PLACEHOLDERS = {"PORT": "socket://127.0.0.1:9", "N": "2", "SECONDS": "10", "URL": "socket://127.0.0.1:9",
                "FILE": "out.bin", "NAME": "linux", "CHANNEL": "linux", "SERIAL": "A1B2C3"}


def readme_command_lines() -> list[str]:
    lines = []
    for raw in (REPO / "README.md").read_text().splitlines():
        text = raw.strip()
        if re.match(r"hvmon\s+[-a-z]", text):        # not `hvmon>` prompts or `hvmon:` output
            lines.append(text)
    return lines


def variants(line: str) -> list[str]:
    """The line with its optional parts left out, and with them in; alternatives apart."""
    text = re.sub(r"\s+#\s.*$", "", line)          # README's comments: two spaces, #, a space
    out = []
    for with_optional in (False, True):
        expanded = re.sub(r"\[([^\]]*)\]", (lambda m: m.group(1)) if with_optional else "", text)
        head, *alternatives = expanded.split(" | ")  # `hvmon -p PORT vm stop x | vm reset x`
        out.append(head)
        if alternatives:
            prefix = head[:head.index(" " + alternatives[0].split()[0] + " ")]
            out += [f"{prefix} {alternative}" for alternative in alternatives]
    return sorted(set(" ".join(v.split()) for v in out))


def argv_of(variant: str) -> list[str]:
    words = shlex.split(variant)
    assert words[0] == "hvmon"
    return [PLACEHOLDERS.get(word, word) for word in words[1:]]


def parse_only(argv: list[str]) -> None:
    try:
        opts = build_parser().parse_args(argv)
    except HelpShown:
        return
    for words in split_chain(opts.words):
        try:
            lookup(words[0]).parse(words[1:])
        except HelpShown:
            pass


LINES = readme_command_lines()


def test_the_readme_shows_commands():
    assert len(LINES) >= 15, LINES


@pytest.mark.parametrize("line", LINES)
def test_a_readme_command_line_parses_as_written(line, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    for variant in variants(line):
        parse_only(argv_of(variant))                  # raises ConfigError naming the mistake


def test_commands_that_need_no_board_run_as_written():
    for argv in (["--help"], ["help"], ["help", "load"], ["--version"]):
        run = subprocess.run([sys.executable, "-m", "hvmon.ui.cli", *argv], capture_output=True,
                             text=True, timeout=60, cwd=REPO)
        assert run.returncode == 0, (argv, run.stderr)
        assert run.stdout.strip(), argv
