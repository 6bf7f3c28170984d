"""Every hvmon command, for the CLI (cli.py) and the REPL (repl.py) alike."""

from . import board_cmds, line_cmds, migrate_cmd, power_cmds, selftest_cmd, tool_cmds, vm_cmds, watch_cmd  # the modules register their commands
from .core import (REGISTRY, ArgParser, Command, Context, GlobalOptions, HelpShown,
                   expand_aliases, lookup, number, split_chain)

__all__ = ["REGISTRY", "ArgParser", "Command", "Context", "GlobalOptions", "HelpShown",
           "expand_aliases", "lookup", "number", "split_chain",
           "board_cmds", "line_cmds", "migrate_cmd", "power_cmds", "selftest_cmd", "tool_cmds", "vm_cmds",
           "watch_cmd"]
