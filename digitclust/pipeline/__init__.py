"""The stage plumbing: params and their validation, memory estimates, atomic writes, logging, quiet imports."""
