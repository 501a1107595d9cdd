"""One adapter per required interface: each implements a core port with that module's commands."""
