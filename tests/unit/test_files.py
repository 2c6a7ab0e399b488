"""`replaced_atomically`: readers see the old file or the whole new one, and a failed write leaves nothing."""

from pathlib import Path

import pytest

from skinsage.files import replaced_atomically


def test_a_finished_write_replaces_the_target_with_the_given_mode(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "index.json"
    with replaced_atomically(target) as tmp:
        tmp.write_text("new")
        assert not target.exists()          # nothing visible until the write is complete
    assert target.read_text() == "new" and target.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in target.parent.iterdir()] == ["index.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "index.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), replaced_atomically(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["index.json"]


def test_two_writers_get_different_temporary_files(tmp_path: Path) -> None:
    target = tmp_path / "vectors.faiss"
    with replaced_atomically(target) as a, replaced_atomically(target) as b:
        assert a != b
        a.write_text("a")
        b.write_text("b")
    assert target.read_text() == "a"        # the outer one renamed last
