"""The plugin host: which plugins are installed (entry points), and the pluggy plugin manager
that loads, registers and selects them."""
