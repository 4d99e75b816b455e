"""biotrainer.ui layer."""
