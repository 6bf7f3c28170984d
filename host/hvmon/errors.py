"""Every error hvmon raises on purpose derives from HvmonError and reads as one line."""


class HvmonError(Exception):
    """Base class; str() is the one line shown to the user."""

    exit_code = 1


class ConfigError(HvmonError):
    """A file, key or argument given by the user is wrong."""

    exit_code = 2


class LinkError(HvmonError):
    """The serial link could not be opened or broke."""

    exit_code = 3


class StepTimeout(HvmonError):
    """A bring-up or monitor step did not see what it waited for in time."""

    exit_code = 4

    def __init__(self, step: str, waited_for: str, timeout: float, tail: str):
        self.step = step
        self.waited_for = waited_for
        self.timeout = timeout
        self.tail = tail
        last = tail.strip().splitlines()[-1:] or ["(nothing)"]
        super().__init__(
            f"{step}: no {waited_for} within {timeout:g} s (last output: {last[0]!r})"
        )


class BoardRefused(HvmonError):
    """The stub or U-Boot answered, but with an error."""

    exit_code = 5
