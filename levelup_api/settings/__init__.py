"""Settings package: base.py holds everything; production.py and test.py adjust it."""
