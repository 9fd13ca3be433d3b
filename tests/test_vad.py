import numpy as np
import pytest

from airwave.audio import SAMPLE_RATE, decode
from airwave.vad import MAX_CHUNK_S, chunk_channel, pack, to_call_time
from testlib import SAMPLE

SR = SAMPLE_RATE


def test_pack_fills_windows_without_exceeding_30s():
    audio = np.arange(100 * SR, dtype=np.float32)
    regions = [(s * SR, (s + 8) * SR) for s in range(0, 90, 10)]  # nine 8 s regions
    chunks = pack(audio, regions)
    assert [len(c.regions) for c in chunks] == [3, 3, 3]  # 24 s each; a fourth would make 32 s
    assert all(c.speech_s <= MAX_CHUNK_S for c in chunks)
    # silence between regions is dropped, the speech is kept in order
    assert np.array_equal(chunks[0].audio, np.concatenate([audio[0:8 * SR], audio[10 * SR:18 * SR],
                                                           audio[20 * SR:28 * SR]]))
    assert (chunks[1].start_s, chunks[1].end_s) == (30.0, 58.0)


def test_pack_splits_a_region_longer_than_the_window():
    audio = np.zeros(70 * SR, np.float32)
    chunks = pack(audio, [(0, 70 * SR)])
    assert [c.speech_s for c in chunks] == [30.0, 30.0, 10.0]


def test_chunk_time_maps_back_to_call_time():
    regions = [(2.0, 5.0), (10.0, 12.0)]
    assert to_call_time(1.0, regions) == 3.0
    assert to_call_time(3.5, regions) == 10.5  # 0.5 s into the second region
    assert to_call_time(99.0, regions) == 12.0  # overshoot clamps to the end
    # at the junction (3.0 s of chunk time), an end stays in the first region, a start moves to the second
    assert to_call_time(3.1, regions, is_end=True) == 5.0
    assert to_call_time(2.9, regions) == 10.0
    assert to_call_time(2.5, regions) == 4.5


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
