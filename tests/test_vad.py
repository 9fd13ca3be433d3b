from dataclasses import replace

import numpy as np

from airwave.audio import SAMPLE_RATE, decode
from airwave.records import Segment, Word
from airwave.vad import MAX_CHUNK_S, chunk_call, chunk_channel, pack, split_at_regions, turns
from testlib import SAMPLE

SR = SAMPLE_RATE


def test_pack_fills_windows_without_exceeding_the_chunk_length():
    audio = np.arange(100 * SR, dtype=np.float32)
    regions = [(s * SR, (s + 8) * SR) for s in range(0, 90, 10)]  # nine 8 s regions
    chunks = pack(audio, regions, max_s=30.0)
    assert [len(c.regions) for c in chunks] == [3, 3, 3]  # 24 s each; a fourth would make 32 s
    assert [len(c.regions) for c in pack(audio, regions)] == [2, 2, 2, 2, 1]  # the default: <= 20 s
    assert all(c.speech_s <= 30.0 for c in chunks)
    # silence between regions is dropped, the speech is kept in order
    assert np.array_equal(
        chunks[0].audio, np.concatenate([audio[0 : 8 * SR], audio[10 * SR : 18 * SR], audio[20 * SR : 28 * SR]])
    )
    assert (chunks[1].start_s, chunks[1].end_s) == (30.0, 58.0)


def test_pack_splits_a_region_longer_than_the_window():
    audio = np.zeros(70 * SR, np.float32)
    chunks = pack(audio, [(0, 70 * SR)])
    assert [c.speech_s for c in chunks] == [20.0, 20.0, 20.0, 10.0]


def test_a_segment_is_cut_into_one_cue_per_region_by_its_words():
    regions = [(2.0, 5.0), (10.0, 12.0)]  # 3 s + 2 s of speech, concatenated in the chunk
    seg = Segment(
        start=0.2,
        end=4.8,
        text="Hello there. Yes.",
        avg_logprob=-0.2,
        no_speech_prob=0.01,
        words=(Word(0.2, 0.8, " Hello"), Word(0.9, 1.5, " there."), Word(3.3, 3.9, " Yes.")),
    )
    cues = split_at_regions(seg, regions)
    assert [(c.start, c.end, c.text) for c in cues] == [(2.2, 3.5, "Hello there."), (10.3, 10.9, "Yes.")]
    assert all(c.avg_logprob == -0.2 and c.no_speech_prob == 0.01 and c.words == () for c in cues)
    # a word straddling the junction goes where most of it is; times are clipped to the region
    seg = replace(seg, words=(Word(2.5, 3.4, " over"), Word(4.9, 5.6, " end")))
    assert [(c.start, c.end) for c in split_at_regions(seg, regions)] == [(4.5, 5.0), (11.9, 12.0)]
    # without word timings the whole segment goes to the region of its midpoint
    nowords = replace(seg, words=(), start=3.2, end=4.0)
    assert [(c.start, c.end, c.text) for c in split_at_regions(nowords, regions)] == [(10.2, 11.0, "Hello there. Yes.")]


def test_turns_join_pauses_of_one_speaker_but_not_across_the_other():
    sr = SR
    agent = [(0, 2 * sr), (int(2.5 * sr), 4 * sr), (8 * sr, 9 * sr), (int(9.6 * sr), 10 * sr)]
    customer = [(int(4.5 * sr), 7 * sr), (int(9.1 * sr), int(9.4 * sr))]  # an "okay" in the agent's pause
    a, c = turns([agent, customer])
    # the 0.5 s pause is joined; the 0.6 s one with the customer's "okay" in it is not, nor the 4 s one
    assert a == [(0, 4 * sr), (8 * sr, 9 * sr), (int(9.6 * sr), 10 * sr)]
    assert c == customer
    long = [(k * 10 * sr, (k * 10 + 9) * sr) for k in range(4)]  # 9 s regions, 1 s apart: a turn stays <= max_s
    assert [(s / sr, e / sr) for s, e in turns([long], max_s=30.0)[0]] == [(0, 29), (30, 39)]
    assert [(s / sr, e / sr) for s, e in turns([long])[0]] == [(0, 19), (20, 39)]  # MAX_CHUNK_S, 20 s


def test_chunks_of_a_call_are_made_of_turns():
    d = decode((SAMPLE / "call_004_long_billing_dispute.wav").read_bytes())
    agent, customer = chunk_call(d.channels)
    for mine, other in ((agent, customer), (customer, agent)):
        other_regions = [r for c in other for r in c.regions]
        for c in mine:
            for s, e in c.regions:  # no turn of one side contains a turn of the other
                assert not any(s < os and oe < e for os, oe in other_regions), (s, e)


def test_silence_gives_no_chunks():
    assert chunk_channel(np.zeros(10 * SR, np.float32)) == []
    assert chunk_channel(np.random.default_rng(0).normal(0, 1e-4, 5 * SR).astype(np.float32)) == []


def test_speech_channels_are_chunked_where_people_talk():
    d = decode((SAMPLE / "call_002_address_change.wav").read_bytes())
    agent, customer = (chunk_channel(c) for c in d.channels)
    assert agent and customer
    for chunks in (agent, customer):
        assert all(0 < c.speech_s <= MAX_CHUNK_S for c in chunks)
        assert all(c.start_s < c.end_s <= d.duration_s for c in chunks)
    # the agent opens the call; the customer's first word comes after the agent's first turn
    assert agent[0].start_s < 1.0 < customer[0].start_s
    # per-channel VAD drops the other party's turns: each side keeps well under the call's length
    assert sum(c.speech_s for c in customer) < 0.7 * d.duration_s
