"""biotrainer: an open neurofeedback and biofeedback relaxation trainer.

biotrainer is a relaxation and self-regulation trainer, not a diagnostic medical device.
"""

__version__ = "0.1.0"
