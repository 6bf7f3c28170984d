"""The serial line to the board, as bytes: opening it (link), finding it (serial_ports),
reading text from it (expect), a simulated cable for tests and benchmarks (linksim), and
framed mode on top: frames (framing), then the reliable session (session).

The lowest layer. It may import only the shared vocabulary at the package root (errors,
protocol, tomlfile); framing never imports session."""
