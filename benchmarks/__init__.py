"""Benchmarks behind ``reelstream bench ...`` (the logic; the CLI modules are thin)."""
