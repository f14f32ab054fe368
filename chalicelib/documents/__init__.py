"""Invoice documents: what an invoice says in a language (``content``), its print view (HTML,
``chalicelib.api.documents``), its Factur-X XML (``facturx``) and its PDF/A-3 (``pdf``).

fpdf2, drafthorse and lxml are imported only on the paths that render (cold start).
"""
