"""Sweeps over several hosts: one DVC experiment per combination of `-S` values, spread by Dask over TLS.

``python -m digitclust.sweep`` runs ``cli.main``; ``task`` is what each worker runs.
"""
