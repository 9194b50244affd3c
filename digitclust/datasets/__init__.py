"""Getting an MNIST-format dataset from its sources, verified by SHA-256, and reading the stages' files."""
