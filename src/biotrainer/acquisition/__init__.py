"""biotrainer.acquisition layer."""
