"""``leaklint server``: a language server with leaklint's findings, quick fixes, noqa actions and rule docs.

Needs the ``lsp`` extra (``pip install "leaklint[lsp]"``, which brings pygls).
"""
