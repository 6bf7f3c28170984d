"""The user's own settings: ~/.config/hvmon/config.toml ($XDG_CONFIG_HOME honoured).

    default = "roc"                       # the board `hvmon` uses when no -p is given
    log_dir = "~/hvmon-logs"              # as --log-dir: a folder of stamped logs per run
    timestamps = true                     # as --timestamps: stamp lines on screen too
    [boards.roc]
    port = "/dev/ttyUSB0"                 # a pyserial URL, or "auto"
    board = "rk3588"                      # board profile (boards/<name>/board.toml)
    [aliases]
    guest = "vm create boards/qemu-virt/linux.toml --start + console linux"

Nothing here is required; a missing file is an empty config. Every mistake is reported
with the file and the key at fault, so a typo never silently changes which board is used.
"""

from __future__ import annotations

import os
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError

TOP_KEYS = {"default", "boards", "aliases", "log_dir", "timestamps"}
BOARD_KEYS = {"port", "board", "baud"}


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "hvmon"


def config_path() -> Path:
    return Path(os.environ.get("HVMON_CONFIG") or config_dir() / "config.toml")


def history_path() -> Path:
    return config_dir() / "history"


@dataclass(frozen=True)
class NamedBoard:
    name: str
    port: str
    board: str | None = None
    baud: int | None = None


@dataclass(frozen=True)
class UserConfig:
    path: Path
    boards: dict[str, NamedBoard] = field(default_factory=dict)
    aliases: dict[str, list[str]] = field(default_factory=dict)
    default: str | None = None
    log_dir: Path | None = None
    timestamps: bool = False

    def default_board(self) -> NamedBoard | None:
        return self.boards[self.default] if self.default else None


def _err(path: Path, key: str, why: str) -> ConfigError:
    return ConfigError(f"{path}: {key}: {why}")


def load_user_config(path: Path | None = None) -> UserConfig:
    path = path or config_path()
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        return UserConfig(path)
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    unknown = sorted(set(data) - TOP_KEYS)
    if unknown:
        raise _err(path, unknown[0], f"unknown key (known: {', '.join(sorted(TOP_KEYS))})")

    boards = {}
    table = data.get("boards", {})
    if not isinstance(table, dict):
        raise _err(path, "boards", "must be a table of [boards.NAME] sections")
    for name, entry in table.items():
        key = f"boards.{name}"
        if not isinstance(entry, dict):
            raise _err(path, key, "must be a table with port = ... and board = ...")
        extra = sorted(set(entry) - BOARD_KEYS)
        if extra:
            raise _err(path, f"{key}.{extra[0]}", f"unknown key (known: {', '.join(sorted(BOARD_KEYS))})")
        if not isinstance(entry.get("port"), str) or not entry["port"]:
            raise _err(path, f"{key}.port", "missing: a pyserial URL, a device or \"auto\"")
        if "board" in entry and not isinstance(entry["board"], str):
            raise _err(path, f"{key}.board", "must be a board profile name")
        if "baud" in entry and (isinstance(entry["baud"], bool) or not isinstance(entry["baud"], int)
                                or entry["baud"] <= 0):
            raise _err(path, f"{key}.baud", "must be a positive integer")
        boards[name] = NamedBoard(name, entry["port"], entry.get("board"), entry.get("baud"))

    aliases = {}
    table = data.get("aliases", {})
    if not isinstance(table, dict):
        raise _err(path, "aliases", "must be a table of NAME = \"command line\"")
    for name, line in table.items():
        if not isinstance(line, str) or not line.strip():
            raise _err(path, f"aliases.{name}", "must be a non-empty command line string")
        try:
            aliases[name] = shlex.split(line)
        except ValueError as exc:
            raise _err(path, f"aliases.{name}", f"cannot split the command line: {exc}") from None

    default = data.get("default")
    if default is not None and (not isinstance(default, str) or default not in boards):
        raise _err(path, "default", f"names no board in [boards] (have: {', '.join(boards) or 'none'})")
    log_dir = data.get("log_dir")
    if log_dir is not None and (not isinstance(log_dir, str) or not log_dir.strip()):
        raise _err(path, "log_dir", "must be a folder name (a string)")
    timestamps = data.get("timestamps", False)
    if not isinstance(timestamps, bool):
        raise _err(path, "timestamps", "must be true or false")
    return UserConfig(path, boards, aliases, default,
                      Path(log_dir).expanduser() if log_dir else None, timestamps)
