"""K-Means clustering of MNIST digits, on raw pixels and on autoencoder codes."""

import os

# TensorFlow's C++ start-up chatter (CPU features, graph attribute notices) is not actionable.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
