"""Ctrl-C while a request is being queued is held until the request is whole, so the
session never loses track of which answer belongs to which request."""

from __future__ import annotations

import struct

import pytest

from hvmon import protocol as P
from hvmon.transport.link import open_link
from hvmon.transport.session import Session
from hvmon.ui.commands import Context, GlobalOptions
from hvmon.ui.userconfig import UserConfig


@pytest.fixture
def session():
    port = open_link("loop://")              # pyserial's loopback: frames come back as noise
    port.timeout = 0.002
    s = Session(port)
    yield s
    s.close()
    port.close()


def test_an_interrupt_outside_a_request_is_raised_at_once(tmp_path):
    ctx = Context(GlobalOptions(), UserConfig(tmp_path / "config.toml"))
    with pytest.raises(KeyboardInterrupt):
        ctx.on_interrupt()


def test_an_interrupt_during_submit_waits_for_the_request_to_be_queued(session, tmp_path):
    ctx = Context(GlobalOptions(), UserConfig(tmp_path / "config.toml"))
    ctx._guard(session)
    ctx._submitting += 1                     # as if Ctrl-C arrived inside submit ...
    ctx.on_interrupt()                       # ... it is held, not raised there
    ctx._submitting -= 1
    payload = struct.pack("<BBH", P.Command.INFO, 0, 1)
    with pytest.raises(KeyboardInterrupt):   # ... and raised once the request is queued
        session.submit(payload)
    assert session.pending() == 1            # the request and its future are both there
    assert not ctx._held_interrupt
    session.submit(payload)                  # later requests are not interrupted again
    assert session.pending() == 2
