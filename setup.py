"""Packaging step pyproject.toml cannot express: the wheel carries the board profiles
(boards/<name>/board.toml and README.md) and the stub images `make firmware` built
(firmware/build/<name>/hvmon-<name>.{bin,elf}), copied to hvmon/data/ in the build, so
an installed hvmon needs no checkout. A checkout (and an editable install) reads them
where they are (hvmon.bringup.board_profile)."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
PROFILE_FILES = ("board.toml", "README.md")
IMAGE_SUFFIXES = ("bin", "elf")


class build_py_with_boards(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            # `pip install -e .` (make setup, before `make firmware` has built anything):
            # an editable install reads profiles and images from the checkout.
            return
        data = Path(self.build_lib) / "hvmon" / "data"
        for profile in sorted((ROOT / "boards").glob("*/board.toml")):
            name = profile.parent.name
            for file in PROFILE_FILES:
                source = profile.parent / file
                if source.is_file():
                    self.copy_file(str(source), str(_mkdir(data / "boards" / name) / file))
            for suffix in IMAGE_SUFFIXES:
                image = ROOT / "firmware" / "build" / name / f"hvmon-{name}.{suffix}"
                if not image.is_file():
                    raise SystemExit(f"{image} is missing: run `make firmware` before building "
                                     "hvmon (the wheel carries the stub images)")
                self.copy_file(str(image), str(_mkdir(data / "firmware" / name) / image.name))


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


setup(cmdclass={"build_py": build_py_with_boards})
