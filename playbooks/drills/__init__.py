"""Drills: scenario files (a timed series of posts), their validation, the score and the drill report.

The runner (``runner.py``) injects a scenario's posts through the real ingest path, marked drill, over
the parts the composition root hands it (``yuqing.context.Context.drill_path``: the records, the posts
index, the ingest callable); the schema, the pure scorer and the Markdown report need no running parts.
"""
