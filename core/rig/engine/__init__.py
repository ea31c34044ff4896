"""The engine of a run: states and workflows, the context a handler works in, the state machine
of one connection, the coordinator of many, and what a run produces."""
