"""biotrainer.net layer."""
