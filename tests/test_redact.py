import pytest

from airwave.redact import detect, luhn_ok, normalise, redact_segments


def test_luhn():
    assert luhn_ok("4111111111111111") and luhn_ok("5500005555555559")
    assert not luhn_ok("4111111111111112")


def test_normalises_spoken_and_written_digits():
    toks = [t for t, _ in normalise("It is four one 1-1 oh, 55".split())]
    assert toks == ["it", "is", "4", "1", "1", "1", "0", "5", "5"]


@pytest.mark.parametrize(
    "texts,expected",
    [
        (["My card is 4111 1111 1111 1111."], ["My card is [CREDIT_CARD]."]),
        (["It is four one one one one one one one one one one one one one one one."], ["It is [CREDIT_CARD]."]),
        # spoken across two segments (the agent interrupted on the other channel)
        (
            ["the number is four one one one", "one one one one one one one one one one one one, thanks"],
            ["the number is [CREDIT_CARD]", "[CREDIT_CARD], thanks"],
        ),
        (["Call me at 555-234-5678."], ["Call me at [PHONE]."]),
        (["five five five two three four five six seven eight is my number"], ["[PHONE] is my number"]),
        (["Send it to john dot smith at example dot com."], ["Send it to [EMAIL]."]),
        (["mail jane.doe@example.org today"], ["mail [EMAIL] today"]),
        (["Please send it to John.Smith at example.com."], ["Please send it to [EMAIL]."]),
        (["my account is one two three four five six"], ["my account is [NUMBER]"]),
    ],
)
def test_redacts_pii(texts, expected):
    out, records = redact_segments(texts)
    assert out == expected
    assert records


def test_a_sixteen_digit_string_failing_luhn_is_still_redacted_but_not_as_a_card():
    out, records = redact_segments(["4111 1111 1111 1112"])
    assert out == ["[NUMBER]"] and records == [{"type": "NUMBER", "segment": 0}]


def test_leaves_ordinary_speech_alone():
    texts = ["I have two items and it costs 25 dollars.", "Call me at 5 pm, I am at home.", "Thank you."]
    assert redact_segments(texts) == (texts, [])
    assert detect("we met at the office".split()) == []
