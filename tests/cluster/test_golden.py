"""The golden files' update mode can never pass a test by comparing a file with itself."""

import json

import pytest

from support import golden


def test_compares_and_fails_on_a_difference(tmp_path, monkeypatch):
    monkeypatch.delenv("AIRWAVE_UPDATE_GOLDEN", raising=False)
    path = tmp_path / "g.json"
    path.write_text(json.dumps({"a": 1}))
    golden.check(path, {"a": 1})
    with pytest.raises(AssertionError, match="differs"):
        golden.check(path, {"a": 2})


def test_update_mode_rewrites_then_fails(tmp_path, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("AIRWAVE_UPDATE_GOLDEN", "1")
    path = tmp_path / "g.json"
    path.write_text(json.dumps({"a": 1}))
    with pytest.raises(pytest.fail.Exception, match="rewrote"):
        golden.check(path, {"a": 2})
    assert json.loads(path.read_text()) == {"a": 2}
    golden.check(path, {"a": 2})  # nothing left to rewrite: a real comparison, which passes


def test_update_mode_is_refused_under_ci(tmp_path, monkeypatch):
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("AIRWAVE_UPDATE_GOLDEN", "1")
    path = tmp_path / "g.json"
    path.write_text(json.dumps({"a": 1}))
    with pytest.raises(pytest.fail.Exception, match="refused under CI"):
        golden.check(path, {"a": 2})
    assert json.loads(path.read_text()) == {"a": 1}
