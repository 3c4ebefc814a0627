"""``python -m nlp.training …`` (see :mod:`nlp.training.cli`)."""

from nlp.training.cli import main

raise SystemExit(main())
