from nlp.segment import Segmenter
from nlp.watchlist import Entity, WatchList


def test_firm_name_is_one_word_and_searchable_by_its_parts(segmenter):
    assert "中信证券" in segmenter.cut("中信证券的APP又闪退了")
    tokens = segmenter.search_tokens("中信证券的APP又闪退了！")
    assert {"中信证券", "中信", "证券", "app"} <= set(tokens)
    assert not any(t.strip("！，。 ") == "" for t in tokens)  # punctuation and spaces dropped


def test_watched_name_jieba_does_not_know_stays_whole(tmp_path):
    seg = Segmenter(["华鼎金管家", "鼎盈1号"], cache_dir=tmp_path)
    words = seg.cut("华鼎金管家和鼎盈1号都出问题了")
    assert "华鼎金管家" in words and "鼎盈1号" in words
    assert (tmp_path / "jieba.cache").exists()  # jieba's cache lives where we said
    assert seg.cut("") == [] and seg.search_tokens("") == []


def test_lookalike_is_not_us(watchlist):
    assert watchlist.targets("华鼎银行的服务太差了") == []
    assert watchlist.targets("新华鼎证券发布公告") == []  # a longer name containing ours
    assert watchlist.targets("华鼎科技与华鼎证券合作") == ["华鼎证券"]


def test_executives_products_and_codes_point_at_the_firm(watchlist):
    assert watchlist.targets("张明远出席论坛") == ["华鼎证券"]
    assert watchlist.targets("华鼎金管家今天打不开") == ["华鼎证券"]
    assert watchlist.targets("华鼎证券股份有限公司公告") == ["华鼎证券"]
    m = watchlist.find("华鼎证券股份有限公司公告")[0]
    assert (m.alias, m.start, m.end) == ("华鼎证券股份有限公司", 0, 10)


def test_stock_code_matches_only_as_a_whole_number(watchlist):
    assert watchlist.targets("609999 跌停") == ["华鼎证券"]
    assert watchlist.targets("SH609999跌停") == ["华鼎证券"]
    assert watchlist.targets("订单号 16099990 已发货") == []
    assert watchlist.targets("6099991") == []
    assert watchlist.targets("中信证券(600030)") == ["中信证券"]


def test_restrict_keeps_aliases_of_known_names_and_exclusions(watchlist):
    wl = watchlist.restrict(["华鼎", "国泰君安"])
    assert wl.names == ["华鼎证券", "国泰君安"]
    assert wl.targets("609999 和 国泰君安") == ["华鼎证券", "国泰君安"]
    assert wl.targets("华鼎银行") == []
    assert wl.targets("中信证券") == []


def test_entity_accepts_settings_shaped_objects():
    class WatchEntityLike:
        name = "鼎盛基金"
        aliases = ["鼎盛"]
        kind = "subsidiary"

    wl = WatchList([WatchEntityLike(), Entity("Acme", aliases=["ACME Capital"])])
    assert wl.targets("鼎盛 and acme capital") == ["鼎盛基金", "Acme"]
    assert wl.targets("acmecorp") == []  # latin names match as whole words


def test_tokens_are_jiebas_whether_the_text_was_segmented_before_or_not(segmenter):
    """The posts index and the event keywords share one segmentation of a post; the tokens are still
    exactly jieba's (search mode for the index, precise mode for the keywords)."""
    from nlp.segment import _keep

    texts = [
        "华鼎证券交易系统宕机，中华人民共和国财政部回应",
        "Hello World 2024年 华鼎金管家APP！！中信证券研究所",
        "   ",
    ]
    for text in texts:
        search = [w.lower() for w, _, _ in segmenter.tokenizer.tokenize(text, mode="search") if _keep(w)]
        precise = [w.lower() for w in segmenter.tokenizer.cut(text) if _keep(w)]
        assert segmenter.search_tokens(text) == search and segmenter.cut(text) == precise
        assert segmenter.cut(text) == precise and segmenter.search_tokens(text) == search  # kept
