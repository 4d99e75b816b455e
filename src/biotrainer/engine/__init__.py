"""biotrainer.engine layer."""
