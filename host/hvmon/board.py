"""`from hvmon.board import Board`: the name README.md and users' scripts use.

The Board API lives in hvmon.target.board; this module only keeps that public import
working. Inside hvmon only `hvmon run` imports it, for the scripts it runs
(tests/unit/test_host_layers.py checks)."""

from .target.board import Board, BoardInfo, HvcResult, Range, StubError, WriteStats

__all__ = ["Board", "BoardInfo", "HvcResult", "Range", "StubError", "WriteStats"]
