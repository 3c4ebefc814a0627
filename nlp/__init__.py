"""Pure analysis for the desk: segmentation, watch list, sentiment, falsity, topic, risk.

Imports nothing of ours; the composition root (``yuqing/``) builds an :class:`nlp.analyzer.Analyzer`
from the settings with plain values. The batch call is ``Analyzer.analyze(posts)``.
"""
