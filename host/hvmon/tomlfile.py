"""Reading the project's TOML files (board profiles, VM configs, plans, pools) with one
kind of error: the file named, then the reason."""

from __future__ import annotations

import tomllib
from pathlib import Path

from .errors import ConfigError


def read_toml(path: Path, error: type[ConfigError] = ConfigError) -> dict:
    try:
        return tomllib.loads(path.read_text())
    except OSError as exc:
        raise error(f"{path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: {exc}") from None
