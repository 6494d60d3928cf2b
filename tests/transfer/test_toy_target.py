"""A new kind of target is one module plus one registration: a toy target defined only here
(its Session keeps files in a dict) runs end to end through the engine, journal and resume."""

from __future__ import annotations

from aqqua_packer.transfer import SendOptions, Target, TargetKind, plan, register, send_package
from aqqua_packer.transfer.base import Session, Writer

STORE: dict[str, bytearray] = {}


class _ToyWriter(Writer):
    def __init__(self, rel, offset):
        self.rel, self.confirmed = rel, offset
        del STORE.setdefault(rel, bytearray())[offset:]

    def write(self, data):
        STORE[self.rel] += data
        self.confirmed += len(data)

    def finish(self):
        pass


class ToySession(Session):
    name = "toy"

    def __init__(self, target, options):
        self.root = target.path.strip("/")

    def _k(self, rel):
        return f"{self.root}/{rel}"

    def size(self, rel):
        return len(STORE[self._k(rel)]) if self._k(rel) in STORE else None

    def mkdirs(self, rel):
        pass

    def open_write(self, rel, offset):
        return _ToyWriter(self._k(rel), offset)

    def rename(self, src, dst):
        STORE[self._k(dst)] = STORE.pop(self._k(src))

    def remove(self, rel):
        STORE.pop(self._k(rel), None)

    def read_range(self, rel, offset, n):
        return bytes(STORE[self._k(rel)][offset : offset + n])


register(
    TargetKind(
        ("toy",),
        "A toy",
        lambda text: Target("toy", host="box", path=text.split("://", 1)[1]),
        open_session=ToySession,
    )
)


def test_a_target_added_in_one_module_sends_a_package_end_to_end(
    small_package, tmp_path, monkeypatch
):
    monkeypatch.setenv("AQQUA_PACKER_HOME", str(tmp_path))
    result = send_package(small_package, "toy://inbox", SendOptions())
    assert result.complete and result.exit_code == 0
    for f in result.files:
        assert (
            bytes(STORE[f"inbox/{small_package.name}/{f.path}"])
            == (small_package / f.path).read_bytes()
        )
    assert plan(small_package, "toy://inbox").complete
    again = send_package(small_package, "toy://inbox", SendOptions())
    assert again.complete and again.bytes_sent == 0  # nothing that arrived is sent twice
