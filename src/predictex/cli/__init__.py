"""The `predictex` command."""
