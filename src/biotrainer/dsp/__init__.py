"""biotrainer.dsp layer."""
