"""The method: pure functions and Keras models, arrays in, arrays out.

Nothing here reads params.yaml, knows DVC or sets up logging; the stages in ``stages/``
and the API in ``digitclust`` call these functions with plain values.
"""
