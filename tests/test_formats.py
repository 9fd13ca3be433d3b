import json
from pathlib import Path

import jsonschema
import pytest

import airwave
from airwave.formats import to_srt, to_vtt, transcript

SEGS = [
    {
        "id": 0,
        "channel": 0,
        "role": "agent",
        "start": 0.5,
        "end": 3.25,
        "text": "Hello, how can I help?",
        "avg_logprob": -0.2,
        "no_speech_prob": 0.01,
    },
    {
        "id": 1,
        "channel": 1,
        "role": "customer",
        "start": 3661.0,
        "end": 3662.0049,
        "text": "Tom & <Jerry>",
        "avg_logprob": -0.5,
        "no_speech_prob": 0.02,
    },
]
CALL = {
    "call_id": "sub/a.wav",
    "source": "file:///in/sub/a.wav",
    "source_format": "wav/pcm_mulaw",
    "source_rate": 8000,
    "source_channels": 2,
    "duration_s": 3662.5,
    "sha256": "0" * 64,
}


def test_srt_has_role_prefixes_and_comma_milliseconds():
    assert to_srt(SEGS) == (
        "1\n00:00:00,500 --> 00:00:03,250\nAgent: Hello, how can I help?\n\n"
        "2\n01:01:01,000 --> 01:01:02,005\nCustomer: Tom & <Jerry>\n"
    )


def test_vtt_has_header_voice_tags_and_escaping():
    assert to_vtt(SEGS) == (
        "WEBVTT\n\n1\n00:00:00.500 --> 00:00:03.250\n<v Agent>Hello, how can I help?\n\n"
        "2\n01:01:01.000 --> 01:01:02.005\n<v Customer>Tom &amp; &lt;Jerry&gt;\n"
    )


def test_empty_call_renders_valid_empty_files():
    assert to_srt([]) == "" and to_vtt([]) == "WEBVTT\n\n"


def schema():
    return json.loads((Path(airwave.__file__).parent / "transcript.schema.json").read_text())


def test_transcript_json_matches_the_published_schema():
    doc = transcript(
        CALL, SEGS, [{"type": "PHONE", "channel": 1, "segment": 1, "start": 3661.0, "end": 3662.0}], "tiny.en"
    )
    jsonschema.validate(doc, schema())
    assert doc["schema_version"] == "1.0" and doc["channels"][1] == {
        "channel": 1,
        "role": "customer",
        "segments": [1],
        "transcript": "Tom & <Jerry>",
    }
    assert doc["transcript"] == "Agent: Hello, how can I help?\nCustomer: Tom & <Jerry>"
    assert 0 < doc["segments"][0]["confidence"] < 1


def test_transcript_reads_one_line_per_turn():
    split = [{**SEGS[0], "text": "Hello,"}, {**SEGS[0], "id": 1, "start": 3.3, "text": "how can I help?"}]
    doc = transcript(
        CALL, [*split, {**SEGS[1], "id": 2}, {**SEGS[0], "id": 3, "start": 3663.0, "text": "Sure."}], [], ""
    )
    assert doc["transcript"] == "Agent: Hello, how can I help?\nCustomer: Tom & <Jerry>\nAgent: Sure."
    assert len(doc["segments"]) == 4  # the cues keep their own times


def test_schema_rejects_a_document_missing_fields():
    doc = transcript(CALL, SEGS, [], "tiny.en")
    del doc["segments"][0]["start"]
    with pytest.raises(jsonschema.ValidationError, match="'start' is a required property"):
        jsonschema.validate(doc, schema())
