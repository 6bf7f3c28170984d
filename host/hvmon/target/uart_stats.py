"""The link UART's FIFO depth and counters, as the stub reports them (UART_STATS)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .. import protocol as P

DEPTH_SOURCES = {
    P.UartDepthSource.DRIVER: "the driver's datasheet value",
    P.UartDepthSource.PROFILE: "the board profile",
    P.UartDepthSource.REGISTER: "read from the UART",
}


@dataclass(frozen=True)
class UartStats:
    """Counts since the stub started. Overruns are events (the UART does not say how many
    characters each cost); framing and parity errors and breaks are one per character the
    UART flagged; rx_ring_overruns are bytes the UART delivered but the stub's own receive
    ring had no room for."""
    driver: str
    fifo_depth: int
    depth_source: str
    rx_bytes: int
    tx_bytes: int
    overruns: int
    framing_errors: int
    parity_errors: int
    breaks: int
    rx_ring_overruns: int

    @property
    def errors(self) -> int:
        """Everything counted that cost or damaged received bytes."""
        return (self.overruns + self.framing_errors + self.parity_errors + self.breaks
                + self.rx_ring_overruns)

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return (f"{self.driver}, FIFO depth {self.fifo_depth} ({self.depth_source}); "
                f"{self.rx_bytes} bytes received, {self.tx_bytes} sent; {self.overruns} overruns, "
                f"{self.framing_errors} framing errors, {self.parity_errors} parity errors, "
                f"{self.breaks} breaks, {self.rx_ring_overruns} bytes lost to a full receive ring")


def parse_uart_stats(fields: tuple, data: bytes) -> UartStats:
    named = dict(zip(P.COMMANDS[P.Command.UART_STATS].response.names, fields))
    source = named.pop("depth_source")
    try:
        source_text = DEPTH_SOURCES[P.UartDepthSource(source)]
    except ValueError:
        source_text = f"source {source}"
    driver = data.split(b"\0")[0].decode(errors="replace")
    return UartStats(driver=driver, depth_source=source_text, **named)
