"""The sitefinder test suite (a package, so every test module is imported once, as ``tests.*``)."""
