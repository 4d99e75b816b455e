"""biotrainer.session layer."""
