"""K-Means clustering of MNIST digits, on raw pixels and on autoencoder codes."""
