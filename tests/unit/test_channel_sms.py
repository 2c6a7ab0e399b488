"""SMS segment arithmetic and splitting at Twilio's limits."""

from __future__ import annotations

from api.channels import sms


def test_plain_text_is_gsm7_and_an_emoji_makes_it_ucs2() -> None:
    assert sms.encoding("Hello, 20€ {ok}") == "GSM-7"
    assert sms.encoding("Hello 🙂") == "UCS-2" and sms.units("🙂") == 2


def test_segments_follow_the_single_and_concatenated_limits() -> None:
    assert [sms.segments("a" * n) for n in (0, 160, 161, 306, 307)] == [0, 1, 2, 2, 3]
    assert [sms.segments("ж" * n) for n in (70, 71, 134, 135)] == [1, 2, 2, 3]
    assert sms.segments("€" * 80) == 1 and sms.segments("€" * 81) == 2   # extension chars take two septets


def test_a_long_reply_is_split_between_words_within_ten_segments() -> None:
    text = " ".join(f"word{i}" for i in range(600))
    parts = sms.split_sms(text, max_segments=10)
    assert len(parts) > 1 and all(sms.segments(p) <= 10 and len(p) <= 1530 for p in parts)
    assert " ".join(parts) == text


def test_unicode_text_gets_the_smaller_ucs2_budget() -> None:
    text = "Сыворотка с ниацинамидом " * 60
    parts = sms.split_sms(text, max_segments=10)
    assert all(sms.units(p) <= 670 for p in parts) and " ".join(parts) == text.strip()


def test_a_word_longer_than_a_message_is_cut_by_characters() -> None:
    parts = sms.split_chars("x" * 5000, 1600)
    assert [len(p) for p in parts] == [1600, 1600, 1600, 200]


def test_short_text_is_one_message() -> None:
    assert sms.split_sms("STOP received") == ["STOP received"]
