"""Drills: scenario files (a timed series of posts), their validation, the score and the drill report.

The scenarios are injected by the composition root (yuqing/drill.py) through the real ingest path,
marked drill; this package holds only what needs no running parts: the schema, the pure scorer and
the Markdown report.
"""
