"""Training and evaluation of the shipped models (the ``train`` extra: scikit-learn, torch, transformers).

Out of the runtime path: nothing under ``nlp/`` outside this package imports it, and the desk never
does. One command line, ``python -m nlp.training …`` (:mod:`nlp.training.cli`):

    python -m nlp.training sentiment [--domains --news …]   # nlp/models/sentiment-linear, -domain, …
    python -m nlp.training sentiment-bert …                 # nlp/models/sentiment-bert
    python -m nlp.training sentiment-ensemble               # nlp/models/ensemble.json
    python -m nlp.training targets train | eval [--analyzer]  # nlp/models/targets-linear
    python -m nlp.training rumor train | eval | baseline      # nlp/models/rumor-linear

Modules: :mod:`~nlp.training.data` (the labelled data and its fixed splits),
:mod:`~nlp.training.sentiment`, :mod:`~nlp.training.bert`, :mod:`~nlp.training.targets`,
:mod:`~nlp.training.rumor`.
"""
