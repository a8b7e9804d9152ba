"""`python -m cchooks …`: the same as the `cchooks` console script."""

from cchooks.cli import console

console()
