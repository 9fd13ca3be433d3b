import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airwave.evaluate import evaluate, normalise


def test_normalise_joins_digit_strings_however_they_are_written():
    assert normalise("It is 4-1-1-1 1111.") == normalise("it is four one one one one one one one") == "it is 41111111"
    assert normalise("Call 555-234-5678!") == "call 5552345678"
    assert normalise("I have 2 apples, 3 pears") == "i have 2 apples 3 pears"


def test_wer_per_call_and_channel(tmp_path):
    seg_dir = tmp_path / "run" / "transcribe" / "segments"
    seg_dir.mkdir(parents=True)
    rows = [  # call a: agent perfect, customer one substitution out of 4 words; call b: missing entirely
        ("a.wav", 0, "agent", 0, 0, 0.0, 1.0, "Hello there."),
        ("a.wav", 0, "agent", 0, 1, 1.0, 2.0, "How are you?"),
        ("a.wav", 1, "customer", 0, 0, 0.5, 2.0, "I am fine thanks"),
    ]
    cols = ["call_id", "channel", "role", "chunk_idx", "seg_idx", "start_s", "end_s", "text"]
    pq.write_table(pa.table({c: [r[i] for r in rows] for i, c in enumerate(cols)}), seg_dir / "part-0.parquet")
    refs = tmp_path / "refs.json"
    refs.write_text(
        json.dumps(
            {
                "calls": {
                    "a.wav": {"channels": {"agent": "hello there how are you", "customer": "i am fine thank you"}},
                    "b.wav": {"channels": {"agent": "two words"}},
                },
                "silent": ["s.wav"],
            }
        )
    )
    with pytest.raises(SystemExit, match="transcribe stage has not finished"):
        evaluate(str(tmp_path / "run"), str(refs))  # segments without the stage's _SUCCESS are never scored
    (tmp_path / "run" / "transcribe" / "_SUCCESS").write_text("")
    rep = evaluate(str(tmp_path / "run"), str(refs))
    by = {(c["call_id"], c["role"]): c for c in rep["per_channel"]}
    assert by[("a.wav", "agent")]["wer"] == 0.0
    assert by[("a.wav", "customer")]["wer"] == 0.4  # "thanks" vs "thank you": 1 substitution + 1 deletion of 5
    assert rep["per_call"]["b.wav"]["wer"] == 1.0
    assert rep["overall"]["words"] == 12 and rep["overall"]["wer"] == round(4 / 12, 4)
    assert rep["silent_calls_empty"] == {"s.wav": True}
    assert json.loads((tmp_path / "run" / "eval" / "report.json").read_text()) == rep


def test_ordered_wer_sees_a_call_read_out_of_turn_order(tmp_path):
    """Per-channel WER cannot see turns in the wrong order; WER of the call read in start-time order can."""
    seg_dir = tmp_path / "run" / "transcribe" / "segments"
    seg_dir.mkdir(parents=True)
    (tmp_path / "run" / "transcribe" / "_SUCCESS").write_text("")
    rows = [  # "in order": question, answer, thanks; "merged": one agent cue starting before the answer
        ("in order", 0, "agent", 0, 0, 0.0, 2.0, "What is your phone number?"),
        ("in order", 1, "customer", 0, 0, 2.5, 4.0, "It is five five five."),
        ("in order", 0, "agent", 0, 1, 4.5, 5.0, "Thank you."),
        ("merged", 0, "agent", 0, 0, 0.0, 5.0, "What is your phone number? Thank you."),
        ("merged", 1, "customer", 0, 0, 2.5, 4.0, "It is five five five."),
    ]
    cols = ["call_id", "channel", "role", "chunk_idx", "seg_idx", "start_s", "end_s", "text"]
    pq.write_table(pa.table({c: [r[i] for r in rows] for i, c in enumerate(cols)}), seg_dir / "part-0.parquet")
    turns = [
        {"role": "agent", "text": "What is your phone number?"},
        {"role": "customer", "text": "It is five five five."},
        {"role": "agent", "text": "Thank you."},
    ]
    ref = {
        "channels": {"agent": "What is your phone number? Thank you.", "customer": "It is five five five."},
        "turns": turns,
    }
    refs = tmp_path / "refs.json"
    refs.write_text(json.dumps({"calls": {"in order": ref, "merged": ref, "mono": {"channels": {"mixed": "hello"}}}}))
    rep = evaluate(str(tmp_path / "run"), str(refs))
    assert rep["per_call"]["in order"]["wer"] == rep["per_call"]["merged"]["wer"] == 0.0
    assert rep["ordered_per_call"]["in order"]["wer"] == 0.0
    assert rep["ordered_per_call"]["merged"]["wer"] == 0.4  # two words deleted, two inserted, of 10
    assert rep["ordered_per_call"]["mono"]["wer"] == 1.0  # a mono file reads as its one channel
    assert rep["ordered"]["words"] == 2 * 10 + 1
