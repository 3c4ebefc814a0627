"""Fixtures for the nlp room: the fictional firm 华鼎证券 and analyzers around it."""

from __future__ import annotations

import numpy as np
import pytest

from nlp.analyzer import Analyzer
from nlp.sentiment import LinearSentimentClassifier, create_sentiment_model
from nlp.watchlist import WatchList

FIRM = {
    "name": "华鼎证券股份有限公司",
    "short_names": ["华鼎证券", "华鼎"],
    "stock_codes": ["609999"],
    "executives": ["张明远", "李静"],
    "products": ["华鼎金管家", "鼎盈1号"],
    "exclude": ["华鼎银行", "华鼎科技", "新华鼎证券"],
}


@pytest.fixture(scope="session")
def watchlist() -> WatchList:
    return WatchList.from_firm(
        FIRM["name"],
        short_names=FIRM["short_names"],
        stock_codes=FIRM["stock_codes"],
        executives=FIRM["executives"],
        products=FIRM["products"],
        exclude=FIRM["exclude"],
        extra=[{"name": "中信证券", "aliases": ["600030"], "kind": "peer"}],
    )


@pytest.fixture(scope="session")
def builtin_model():
    return create_sentiment_model("builtin")


@pytest.fixture(scope="session")
def analyzer(builtin_model) -> Analyzer:
    return Analyzer.from_config(
        firm=FIRM,
        watch=[{"name": "中信证券", "aliases": ["600030"], "kind": "peer"}],
        sentiment_model=builtin_model,
        risk={
            "negative_threshold": 0.55,
            "rumor_threshold": 0.5,
            "reach_high": 10_000,
            "reach_very_high": 100_000,
        },
        source_authority={"人民网": 0.9, "某论坛": 0.3},
    )


@pytest.fixture
def tiny_model() -> LinearSentimentClassifier:
    """Three features, hand-set weights: 差 → negative, 好 → positive, 的 → neutral."""
    return LinearSentimentClassifier(
        ["差", "好", "的"],
        idf=np.ones(3),
        coef=[[4.0, 0.0, -4.0], [-4.0, 0.0, 4.0], [0.0, 2.0, 0.0]],
        intercept=[0.0, 0.0, 0.0],
    )
