"""Subcommands of the biotrainer CLI, one module each (add_parser, run)."""
