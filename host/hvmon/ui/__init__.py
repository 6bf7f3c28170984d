"""What a person at a terminal uses: the `hvmon` command line (cli), the REPL (repl), the
commands both run (commands/), the user's config (userconfig), progress bars (progress)
and handing the terminal to a serial line (terminal).

The top layer, beside hil/: it may import bringup/, target/, transport/ and the shared
vocabulary, never hil/. commands/ never imports repl or cli, the front ends built on it."""
