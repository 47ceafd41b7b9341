"""Ingestion: from a department's file to typed, pseudonymised rows in the working database.

read (reader.py) → normalise text and map headers (normalize.py, headers.py) →
row rules (rules.py, idnumber.py, dates.py) → load one file atomically (loader.py).
"""
